package tracking

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// Install is one plugin installed in one workspace: the row the host reports
// through [Tracker.RecordInstall]. (WorkspaceID, PluginName) is its identity.
type Install struct {
	WorkspaceID string
	PluginName  string
	// Source is where the plugin comes from.
	Source Source
	// Ref is what the install follows upstream.
	Ref Ref
	// InstalledSHA is the full commit id installed (lowercase hex). It may be
	// empty only for local sources.
	InstalledSHA string
	// InstalledVersion is the tag name installed, when known.
	InstalledVersion string
	InstalledAt      time.Time
	UpdatedAt        time.Time
}

// Tracked reports whether the sweeper looks at this install: it follows a
// moving ref (not none, not a pinned sha) of a source that has an upstream.
// This is the one place that rule lives; stores record it beside the row.
func (in Install) Tracked() bool {
	return in.Ref.Tracked() && in.Source.HasUpstream()
}

// UpstreamKey identifies one upstream: a source followed at one ref. Many
// installs share one upstream, and the sweeper resolves each upstream once.
type UpstreamKey struct {
	Source Source
	Ref    Ref
}

func (k UpstreamKey) String() string { return k.Source.String() + " @ " + k.Ref.String() }

// Upstream is what plugindrift last learned about an [UpstreamKey].
type Upstream struct {
	// ID orders upstreams for keyset pagination; it is assigned by the store.
	ID  int64
	Key UpstreamKey
	// LastSHA and LastVersion are the last successful resolution.
	LastSHA     string
	LastVersion string
	// Validator is an opaque value a resolver hands back for a conditional
	// request next time (an ETag, say).
	Validator     string
	LastCheckedAt time.Time
	// LastError is the last resolution error (empty after a success), and
	// ConsecutiveFailures counts failures since the last success.
	LastError           string
	ConsecutiveFailures int
}

// UpdateStatus is the state of a queue entry.
//
//	pending ──► applying ──► applied
//	   │  ▲         │
//	   │  └─────────┘ (install failed)
//	   ├──► dismissed
//	   └──► superseded ◄── applying
type UpdateStatus string

const (
	StatusPending    UpdateStatus = "pending"
	StatusApplying   UpdateStatus = "applying"
	StatusApplied    UpdateStatus = "applied"
	StatusDismissed  UpdateStatus = "dismissed"
	StatusSuperseded UpdateStatus = "superseded"
)

// Open reports whether the status is pending or applying. At most one open
// entry exists per (workspace, plugin).
func (s UpdateStatus) Open() bool { return s == StatusPending || s == StatusApplying }

// Terminal reports whether no further transition leaves the status.
func (s UpdateStatus) Terminal() bool {
	return s == StatusApplied || s == StatusDismissed || s == StatusSuperseded
}

// Valid reports whether s is one of the five statuses.
func (s UpdateStatus) Valid() bool { return s.Open() || s.Terminal() }

// ParseUpdateStatus parses one of the five status names.
func ParseUpdateStatus(s string) (UpdateStatus, error) {
	st := UpdateStatus(s)
	if !st.Valid() {
		return "", fmt.Errorf("tracking: unknown update status %s (want pending, applying, applied, dismissed or superseded): %w", redact.Quote(s), ErrInvalidArgument)
	}
	return st, nil
}

// UpdateKind says what kind of upstream movement an entry reports.
type UpdateKind string

const (
	// KindNewVersion: a newer release was selected (tag:latest, semver:).
	KindNewVersion UpdateKind = "new-version"
	// KindNewCommit: a followed branch moved.
	KindNewCommit UpdateKind = "new-commit"
	// KindTagMoved: an exact tag now points at another commit. This is an
	// integrity alarm and is never applied automatically.
	KindTagMoved UpdateKind = "tag-moved"
)

// Reasons recorded on entries that leave the queue without being applied.
const (
	ReasonUpToDate      = "up-to-date"     // the install already has the upstream commit
	ReasonNewerUpstream = "newer-upstream" // upstream moved again before a decision
	ReasonUninstalled   = "uninstalled"    // the install was removed
	ReasonReinstalled   = "reinstalled"    // the host reinstalled another commit, source or ref
)

// Update is one entry of the update queue: "install X in workspace W should
// go from FromSHA to ToSHA".
type Update struct {
	ID          int64
	WorkspaceID string
	PluginName  string
	Source      Source
	Ref         Ref
	FromSHA     string
	ToSHA       string
	FromVersion string
	ToVersion   string
	Kind        UpdateKind
	Status      UpdateStatus
	DetectedAt  time.Time
	LastSeenAt  time.Time
	// DecidedAt, DecidedBy and Reason are set when the entry leaves the
	// queue (applied, dismissed, superseded). DecidedBy is the actor.
	DecidedAt time.Time
	DecidedBy string
	Reason    string
	// Attempts counts failed installs; LastError is the last one.
	Attempts  int
	LastError string
	// RestartError is set when the install succeeded but the restart did not.
	RestartError string
	// ClaimedUntil is when the current apply claim expires.
	ClaimedUntil time.Time
}

// Validate checks a Ref built by hand: it must be what ParseRef returns for
// its canonical form (the zero Ref counts as none). Errors wrap
// ErrInvalidRef.
func (r Ref) Validate() error {
	if r == (Ref{}) {
		return nil
	}
	back, err := ParseRef(r.String())
	if err != nil {
		return err
	}
	if back != r {
		return fmt.Errorf("tracking: ref %s is not in canonical form (want %s): %w", redact.Quote(r.String()), redact.Short(fmt.Sprintf("%+v", back)), ErrInvalidRef)
	}
	return nil
}

// Validate checks a Source built by hand: it must be what ParseSource
// returns for its canonical form. The zero Source is invalid. Errors wrap
// ErrInvalidSource.
func (s Source) Validate() error {
	if s.Scheme == "" {
		return fmt.Errorf("tracking: source is not set: %w", ErrInvalidSource)
	}
	back, err := ParseSource(s.String())
	if err != nil {
		return err
	}
	if s.InstalledFrom == (Ref{}) {
		s.InstalledFrom = Ref{Kind: RefNone} // the zero Ref is none
	}
	if back != s {
		return fmt.Errorf("tracking: source %s is not in canonical form: %w", redact.Quote(s.String()), ErrInvalidSource)
	}
	return nil
}

// Validate holds an install to the rules RecordInstall applies to its
// input, for installs built in code (stores call it before writing):
// valid workspace id, plugin name, source and ref; a moving ref only on a
// source with an upstream; a full lowercase commit id (optional for local
// sources); a version, when set, that is a tag name.
func (in Install) Validate() error {
	if err := ValidateWorkspaceID(in.WorkspaceID); err != nil {
		return err
	}
	if err := ValidatePluginName(in.PluginName); err != nil {
		return err
	}
	if err := in.Source.Validate(); err != nil {
		return err
	}
	if err := in.Ref.Validate(); err != nil {
		return err
	}
	if in.Ref.Tracked() && !in.Source.HasUpstream() {
		return fmt.Errorf("tracking: %s has no upstream, so it cannot track %s: record it with ref \"none\": %w", redact.Quote(in.Source.String()), redact.Quote(in.Ref.String()), ErrInvalidRef)
	}
	if in.InstalledSHA != "" || in.Source.HasUpstream() {
		if err := ValidateSHA(in.InstalledSHA); err != nil {
			return fmt.Errorf("tracking: installed commit of %s: %w", redact.Quote(in.Source.String()), err)
		}
	}
	if in.InstalledVersion != "" {
		if err := ValidateRefName(in.InstalledVersion); err != nil {
			return fmt.Errorf("tracking: installed version must be a tag name: %w", err)
		}
	}
	return nil
}
