package drift

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// errSweeperStopped ends the sweeps Trigger asked for once Stop is called.
// It wraps context.Canceled, which is what stopping is.
var errSweeperStopped = fmt.Errorf("drift: the sweeper was stopped: %w", context.Canceled)

// SweepRun is one sweep of a Sweeper, as seen by those who asked for it:
// Trigger returns it, and RunOnce waits for one. A SweepRun is safe for
// concurrent use.
type SweepRun struct {
	done chan struct{}

	// Set when the run is made, never changed.
	startedAt time.Time

	// Guarded by the Sweeper's runs.mu until done is closed, then fixed.
	finishedAt time.Time
	report     Report
	err        error

	// Who still wants the sweep; guarded by runs.mu. The sweep is
	// cancelled when the last of them is gone.
	holders   int
	triggered bool // a Trigger holds it: Stop waits for it
	cancel    context.CancelCauseFunc
	unhold    []func() bool // stops the context.AfterFunc of each holder
}

// Done is closed when the sweep has ended, with or without an error.
func (r *SweepRun) Done() <-chan struct{} { return r.done }

// Result waits for the sweep to end and returns its report and error, as
// RunOnce would have.
func (r *SweepRun) Result() (Report, error) {
	<-r.done
	return r.report, r.err
}

// StartedAt is when the sweep began, by SweeperConfig.Now.
func (r *SweepRun) StartedAt() time.Time { return r.startedAt }

// SweepStatus is the state of a sweep at one moment: running since
// StartedAt, or finished at FinishedAt with its Report and Err. The zero
// SweepStatus (StartedAt zero) means that no sweep is known: this Sweeper
// has not swept yet (Latest), and no replica recorded one (LatestSweep).
type SweepStatus struct {
	// StartedAt is when the sweep began; zero when there was none.
	StartedAt time.Time
	// Running is set until the sweep ends.
	Running bool
	// FinishedAt, Report and Err are set when the sweep has ended: its
	// report (Report.Skipped when another replica held the lease) and the
	// error RunOnce returned, if any.
	FinishedAt time.Time
	Report     Report
	Err        error
	// Holder names the sweeper that ran it (SweeperConfig.Holder): this
	// one, or another replica's when LatestSweep read its record.
	Holder string
}

// sweepRuns keeps sweeps to one at a time inside a Sweeper, and remembers
// the latest. Its zero value is ready to use.
//
// A sweep goes on as long as someone wants it: each RunOnce caller until
// its ctx ends, each Trigger until the Sweeper is stopped. When the last
// of them is gone, the sweep is cancelled (and reports what it did up to
// then). So a sweep that an operator triggered never stops because a
// RunOnce caller, or an HTTP client, that joined it went away.
type sweepRuns struct {
	mu      sync.Mutex
	life    context.Context // ends when the Sweeper is stopped; nil until first needed
	endLife context.CancelCauseFunc
	cur     *SweepRun // the sweep running now, or nil
	latest  *SweepRun // the sweep that began last, or nil
}

// lifetime returns the context that Trigger's holders follow, making it on
// first use. runs.mu must be held.
func (rs *sweepRuns) lifetime() context.Context {
	if rs.life == nil {
		rs.life, rs.endLife = context.WithCancelCause(context.Background())
	}
	return rs.life
}

// begin starts a new lifetime if Stop ended the last one: called by Start,
// so that a Sweeper started again takes triggered sweeps again.
func (rs *sweepRuns) begin() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.life != nil && rs.life.Err() != nil {
		rs.life = nil
	}
	rs.lifetime()
}

// stop ends the lifetime, which cancels a triggered sweep that no RunOnce
// caller waits for, and waits for a triggered sweep to end.
func (rs *sweepRuns) stop() {
	rs.mu.Lock()
	rs.lifetime()
	rs.endLife(errSweeperStopped)
	var wait chan struct{}
	if rs.cur != nil && rs.cur.triggered {
		wait = rs.cur.done
	}
	rs.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// Trigger starts a sweep now and returns it without waiting, or returns
// the sweep already running in this Sweeper (started by Trigger, RunOnce
// or the schedule), which then goes on until it is done even if the
// RunOnce callers that started it leave.
//
// A triggered sweep runs under the Sweeper's lifetime, not under any
// caller's context: it begins at NewSweeper (or at Start, for a Sweeper
// started again) and ends at Stop, which Start calls itself when its ctx
// ends. Stop cancels a triggered sweep (it reports what it did up to then)
// and waits for it. After Stop, and until Start, Trigger returns a run that
// has already ended with an error wrapping context.Canceled.
func (s *Sweeper) Trigger() *SweepRun {
	rs := &s.runs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	life := rs.lifetime()
	if rs.cur == nil && life.Err() != nil {
		r := &SweepRun{done: make(chan struct{}), startedAt: s.now()}
		r.finishedAt, r.err = r.startedAt, context.Cause(life)
		close(r.done)
		return r
	}
	r := s.joinLocked(life)
	r.triggered = true
	return r
}

// Latest returns the state of the sweep that began last in this Sweeper
// (by Trigger, RunOnce or the schedule): running, or finished with its
// report. It knows only this process's sweeps; LatestSweep also sees
// those of the other replicas that share the store.
func (s *Sweeper) Latest() SweepStatus {
	rs := &s.runs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r := rs.latest
	if r == nil {
		return SweepStatus{}
	}
	st := SweepStatus{StartedAt: r.startedAt, Running: r == rs.cur, Holder: s.cfg.Holder}
	if !st.Running {
		st.FinishedAt, st.Report, st.Err = r.finishedAt, r.report, r.err
	}
	return st
}

// runOnce is RunOnce: it joins the running sweep or starts one, holds it
// while ctx lasts, and waits for its result.
func (s *Sweeper) runOnce(ctx context.Context) (Report, error) {
	s.runs.mu.Lock()
	r := s.joinLocked(ctx)
	s.runs.mu.Unlock()
	return r.Result()
}

// joinLocked returns the running sweep, or starts one, and makes holder a
// reason for it to go on: until holder ends, it is not cancelled. A sweep
// started here keeps the values of holder's context. runs.mu must be held.
func (s *Sweeper) joinLocked(holder context.Context) *SweepRun {
	rs := &s.runs
	r := rs.cur
	if r == nil {
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(holder))
		r = &SweepRun{done: make(chan struct{}), startedAt: s.now(), cancel: cancel}
		rs.cur, rs.latest = r, r
		go s.runSweep(ctx, r)
	}
	r.holders++
	r.unhold = append(r.unhold, context.AfterFunc(holder, func() {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if r.holders--; r.holders == 0 {
			r.cancel(context.Cause(holder))
		}
	}))
	return r
}

// runSweep runs the sweep of r, records it when it ran (so that it is in
// the store by the time Done is closed), and publishes its result.
func (s *Sweeper) runSweep(ctx context.Context, r *SweepRun) {
	rep, ran, err := s.sweep(ctx)
	finishedAt := s.now()
	if ran {
		s.recordSweep(ctx, r.startedAt, finishedAt, rep, err)
	}
	r.cancel(nil)
	rs := &s.runs
	rs.mu.Lock()
	for _, stop := range r.unhold {
		stop()
	}
	r.unhold = nil
	r.finishedAt, r.report, r.err = finishedAt, rep, err
	rs.cur = nil
	rs.mu.Unlock()
	close(r.done)
}
