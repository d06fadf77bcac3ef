package drift

import (
	"context"
	"errors"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
)

// Every sweep that ran (took the lease) is recorded in the store at its
// end, so that any replica sharing the store can say what the last sweep
// did: behind a load balancer, the request that asks is seldom served by
// the replica that swept. Skipped sweeps are not recorded; they did
// nothing.

// recordSweep records a sweep that ran, after its lease work, under a
// bounded context of its own: a sweep cut short is recorded too, and a
// write started is never cut off midway. A failure is logged: the sweep
// itself is done either way.
func (s *Sweeper) recordSweep(ctx context.Context, startedAt, finishedAt time.Time, rep Report, err error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LeaseTTL)
	defer cancel()
	if _, rerr := s.store.RecordSweep(rctx, s.sweepRecord(startedAt, finishedAt, rep, err)); rerr != nil {
		s.log.WarnContext(ctx, "plugindrift: record sweep report (other replicas will not see it)", "error", rerr)
	}
}

// sweepRecord is rep as the store keeps it: its texts redacted and cut to
// the store's bounds, its errors to the first storage.MaxSweepErrors.
func (s *Sweeper) sweepRecord(startedAt, finishedAt time.Time, rep Report, err error) storage.SweepRecord {
	text := func(t string) string { return redact.Truncate(redact.String(t), storage.MaxSweepText) }
	if finishedAt.Before(startedAt) {
		finishedAt = startedAt // SweeperConfig.Now stepped back
	}
	r := storage.SweepRecord{
		Holder: text(s.cfg.Holder), StartedAt: startedAt, FinishedAt: finishedAt, Duration: rep.Duration,
		Upstreams: rep.Upstreams, Resolved: rep.Resolved, Unchanged: rep.Unchanged, Failed: rep.Failed, Deferred: rep.Deferred,
		Installs: rep.Installs, Queued: rep.Queued, Superseded: rep.Superseded,
	}
	for _, e := range rep.Errors[:min(len(rep.Errors), storage.MaxSweepErrors)] {
		r.Errors = append(r.Errors, storage.SweepError{Source: text(e.Source), Ref: text(e.Ref), Error: text(e.Error)})
	}
	if err != nil {
		r.Error = text(err.Error())
	}
	return r
}

// LatestSweep returns the state of the latest sweep of any replica that
// shares the store: the one running in this Sweeper now, or else the newer
// (by StartedAt) of the last one recorded in the store, whichever replica
// ran it, and this Sweeper's own latest (Latest: a sweep skipped because
// another replica held the lease is not recorded, and this Sweeper knows
// the exact error of its own). A sweep running on another replica is not
// seen until it ends: its StartedAt tells a caller waiting for it when the
// latest is that one.
//
// When the store cannot be read, LatestSweep logs that and answers with
// Latest, this process's sweeps only.
func (s *Sweeper) LatestSweep(ctx context.Context) SweepStatus {
	own := s.Latest()
	if own.Running {
		return own
	}
	recs, err := s.store.ListSweeps(ctx, storage.ListSweepsParams{Limit: 1})
	if err != nil {
		s.log.WarnContext(ctx, "plugindrift: read the latest sweep record; answering with this replica's own latest sweep", "error", err)
		return own
	}
	if len(recs) == 0 || !recs[0].StartedAt.After(own.StartedAt) {
		return own
	}
	return statusOf(recs[0])
}

// statusOf is the SweepStatus of a recorded sweep.
func statusOf(r storage.SweepRecord) SweepStatus {
	st := SweepStatus{
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Holder: r.Holder,
		Report: Report{
			Upstreams: r.Upstreams, Resolved: r.Resolved, Unchanged: r.Unchanged, Failed: r.Failed, Deferred: r.Deferred,
			Installs: r.Installs, Queued: r.Queued, Superseded: r.Superseded, Duration: r.Duration,
		},
	}
	for _, e := range r.Errors {
		st.Report.Errors = append(st.Report.Errors, UpstreamError(e))
	}
	if r.Error != "" {
		st.Err = errors.New(r.Error)
	}
	return st
}
