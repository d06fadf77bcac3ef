package storage

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// The types of the sweep report methods of Store (see "Sweep reports" in
// the Store interface).

// SweepsKept is how many sweep records a Store keeps: RecordSweep deletes
// older ones in its transaction.
const SweepsKept = 100

// MaxSweepErrors is how many failing upstreams one SweepRecord may list.
const MaxSweepErrors = 100

// MaxSweepText is the most bytes any text of a SweepRecord (the holder,
// an error's source, ref and text, the sweep's error) may have. The
// recorder truncates longer text; the store refuses it.
const MaxSweepText = 2048

// SweepRecord is the report of one sweep that ran (took the sweeper lease),
// kept so that every replica can answer what the last sweep did.
type SweepRecord struct {
	// ID is assigned by RecordSweep; a later record has a larger one.
	ID int64
	// Holder names the sweeper that ran it (its lease holder). Required.
	Holder string
	// StartedAt and FinishedAt bound the sweep. StartedAt is required and
	// FinishedAt must not be before it.
	StartedAt, FinishedAt time.Time
	// Duration is how long the sweep took, by the recorder's monotonic
	// clock. Must not be negative.
	Duration time.Duration
	// The counts of the sweep's report. None may be negative.
	Upstreams, Resolved, Unchanged, Failed, Deferred int
	Installs, Queued, Superseded                     int
	// Errors holds the first failing upstreams, at most MaxSweepErrors.
	Errors []SweepError
	// Error is why the sweep stopped before it was done, redacted; empty
	// when it ran to its end.
	Error string
}

// SweepError is one failing upstream of a SweepRecord, its text redacted.
type SweepError struct {
	Source, Ref, Error string
}

// Validate checks the holder, the times, the counts and the bounds.
func (r SweepRecord) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("storage: record sweep: "+format+": %w", append(args, tracking.ErrInvalidArgument)...)
	}
	if r.Holder == "" {
		return bad("no holder: name the sweeper that ran it")
	}
	if r.StartedAt.IsZero() || r.FinishedAt.Before(r.StartedAt) || r.Duration < 0 {
		return bad("want a start time, a finish time not before it and a duration of at least 0, got %s, %s, %s",
			r.StartedAt.Format(time.RFC3339Nano), r.FinishedAt.Format(time.RFC3339Nano), r.Duration)
	}
	if min(r.Upstreams, r.Resolved, r.Unchanged, r.Failed, r.Deferred, r.Installs, r.Queued, r.Superseded) < 0 {
		return bad("a negative count")
	}
	if len(r.Errors) > MaxSweepErrors {
		return bad("%d failing upstreams: want at most %d (keep the first ones)", len(r.Errors), MaxSweepErrors)
	}
	texts := []string{r.Holder, r.Error}
	for _, e := range r.Errors {
		texts = append(texts, e.Source, e.Ref, e.Error)
	}
	for _, s := range texts {
		if len(s) > MaxSweepText {
			return bad("a text of %d bytes: want at most %d (truncate it)", len(s), MaxSweepText)
		}
	}
	return nil
}

// ListSweepsParams pages through the sweep records, newest first.
type ListSweepsParams struct {
	// BeforeID is the keyset cursor: records with a smaller ID (0: from
	// the newest).
	BeforeID int64
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// Validate checks the cursor and the limit.
func (p ListSweepsParams) Validate() error { return validatePage(p.BeforeID, p.Limit) }
