package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// CheckWorkerConfig configures a CheckWorker. nil means all defaults.
type CheckWorkerConfig struct {
	// Concurrency bounds how many requested checks run at once. Defaults
	// to 4.
	Concurrency int
	// PollInterval is how often the worker looks for check requests it was
	// not woken for: those other replicas recorded, and those a dead
	// replica had claimed. Defaults to 10 seconds.
	PollInterval time.Duration
	// ClaimTTL is how long a claimed request stays this worker's without
	// being completed; after that another replica takes it over (this one
	// died). It must be longer than one check takes. Defaults to twice the
	// Sweeper's ResolveTimeout plus LeaseTTL (3 minutes with the Sweeper's
	// defaults).
	ClaimTTL time.Duration
	// RecheckDelay is how long a request that more pushes reached during
	// its check waits before its next check, so that a burst of pushes to
	// one upstream costs one check per RecheckDelay rather than one per
	// push. Defaults to 1 second.
	RecheckDelay time.Duration
	// Holder names this worker in its claims. Defaults to the Sweeper's
	// Holder.
	Holder string
	// Logger receives the report of every round that checked something.
	// Defaults to the Sweeper's Logger.
	Logger *slog.Logger
}

// CheckReport says what one round of a CheckWorker did: the push-check
// counterpart of a sweep's Report.
type CheckReport struct {
	// Requests is how many check requests were claimed.
	Requests int
	// Again counts requests that more pushes reached during their check:
	// they stay recorded for one more check.
	Again int
	// Postponed counts requests whose upstream another replica was
	// checking at that moment; they are handed back for a later round.
	Postponed int
	// Lost counts requests whose claim another replica took over before
	// this one completed them (the check ran, but took over ClaimTTL).
	Lost int
	// Checks adds up the reports of the checks (Resolved, Failed, Queued,
	// Errors, …); its Duration is the round's.
	Checks Report
	// MaxWait is the longest time from a push being recorded to its check
	// ending, by the Sweeper's clock.
	MaxWait time.Duration
}

// CheckWorker performs the checks push webhooks request: it claims the
// check requests recorded in the store (storage.Store.RecordPush) and
// runs Sweeper.Check on each, so they are resolved and reconciled by the
// sweep's own code, failures recorded on the upstream like a sweep's.
//
// # Exactly one replica performs each check
//
// A request is claimed in the store for ClaimTTL by one worker; of
// several replicas' workers, each request goes to one. A worker that
// dies with requests claimed leaves them to be taken over when the
// claim expires (judged by the store's clock). Completing a request
// names the claim and the request's generation: pushes recorded during
// the check leave the request for one more check, so a burst of pushes
// becomes one or two checks and none is missed; a completion whose claim
// was taken over changes nothing. The Sweeper's per-upstream lease keeps
// two checks of one upstream from overlapping even then.
type CheckWorker struct {
	sweeper *Sweeper
	cfg     CheckWorkerConfig
	log     *slog.Logger
	wake    chan struct{}

	mu      sync.Mutex
	running bool // a Start is in effect
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewCheckWorker returns a worker that checks through sweeper, on the
// sweeper's store. cfg may be nil.
func NewCheckWorker(sweeper *Sweeper, cfg *CheckWorkerConfig) (*CheckWorker, error) {
	if sweeper == nil {
		return nil, fmt.Errorf("drift: NewCheckWorker needs a Sweeper: %w", tracking.ErrInvalidArgument)
	}
	var c CheckWorkerConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Concurrency < 0 || c.PollInterval < 0 || c.ClaimTTL < 0 || c.RecheckDelay < 0 {
		return nil, fmt.Errorf("drift: CheckWorkerConfig.Concurrency, PollInterval, ClaimTTL and RecheckDelay must not be negative: %w", tracking.ErrInvalidArgument)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 4
	}
	if c.PollInterval == 0 {
		c.PollInterval = 10 * time.Second
	}
	if c.RecheckDelay == 0 {
		c.RecheckDelay = time.Second
	}
	if c.ClaimTTL == 0 {
		c.ClaimTTL = 2 * (sweeper.cfg.ResolveTimeout + sweeper.cfg.LeaseTTL)
	}
	if c.Holder == "" {
		c.Holder = sweeper.cfg.Holder
	}
	log := c.Logger
	if log == nil {
		log = sweeper.log
	}
	return &CheckWorker{sweeper: sweeper, cfg: c, log: log, wake: make(chan struct{}, 1)}, nil
}

// Wake asks a started worker to look for check requests now rather than at
// its next poll: the push receiver calls it after recording requests. It
// never blocks; wake-ups while a round runs make one more round.
func (w *CheckWorker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Start runs rounds until Stop is called or ctx ends: one at once (for
// requests left by a replica that died), then one after every Wake and
// every PollInterval. Calling Start twice without Stop is an error.
func (w *CheckWorker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running {
		return errors.New("drift: check worker already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	w.running, w.cancel, w.done = true, cancel, make(chan struct{})
	go w.loop(ctx, w.done)
	return nil
}

func (w *CheckWorker) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	// recheckAt is when requests handed back to rest are claimable again:
	// the worker comes back for them then, not at its next poll, however
	// many wake-ups of pushes that found them resting came in between.
	var recheckAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		rep, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.ErrorContext(ctx, "plugindrift: push checks failed", "error", err)
		}
		now := time.Now()
		switch {
		case rep.Again > 0 || rep.Postponed > 0:
			// The rest ends by the store's clock, a moment after the
			// completion: come back a little after it.
			recheckAt = now.Add(w.cfg.RecheckDelay + w.cfg.RecheckDelay/10 + 10*time.Millisecond)
		case !recheckAt.After(now):
			recheckAt = time.Time{}
		}
		next := w.cfg.PollInterval
		if !recheckAt.IsZero() {
			next = min(next, recheckAt.Sub(now))
		}
		timer.Reset(next)
	}
}

// Stop ends the rounds and waits for a running one to stop; requests it
// had claimed and not completed are taken over after ClaimTTL, by this
// worker's next Start or another replica's.
func (w *CheckWorker) Stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.running, w.cancel, w.done = false, nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// RunOnce runs one round under ctx: it claims requests and checks them,
// at most Concurrency at a time, claiming more as checks end and as Wake
// says pushes arrived, until none is left to claim and none is being
// checked, and logs the round's report when it checked anything. The
// error is a store failure (or ctx's); requests it could not complete
// stay claimed until ClaimTTL ends.
func (w *CheckWorker) RunOnce(ctx context.Context) (CheckReport, error) {
	start := time.Now()
	var (
		rep       CheckReport
		postponed []storage.CheckRequest
		inflight  int
	)
	type finished struct {
		req storage.CheckRequest
		res checkResult
		err error
	}
	done := make(chan finished)
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	collect := func(f finished) {
		inflight--
		rep.add(f.res, w.sweeper.cfg.MaxReportErrors)
		if f.res.status == checkPostponed {
			postponed = append(postponed, f.req)
		}
		if f.err != nil {
			stop(f.err)
		}
	}
	for ctx.Err() == nil {
		if inflight < w.cfg.Concurrency {
			reqs, err := w.sweeper.store.ClaimCheckRequests(ctx, storage.ClaimCheckRequestsParams{Holder: w.cfg.Holder, TTL: w.cfg.ClaimTTL, Limit: w.cfg.Concurrency - inflight})
			if err != nil {
				stop(fmt.Errorf("drift: claim check requests: %w", err))
				break
			}
			for _, r := range reqs {
				inflight++
				go func() {
					res, err := w.check(ctx, r)
					done <- finished{r, res, err}
				}()
			}
			if len(reqs) > 0 {
				continue // maybe more to claim for the free slots
			}
		}
		if inflight == 0 {
			break // nothing to claim, nothing running: the round is over
		}
		select {
		case f := <-done:
			collect(f)
		case <-w.wake: // pushes arrived: claim them beside the running checks
		}
	}
	for inflight > 0 {
		collect(<-done)
	}
	// Postponed requests go back only now, so no slot of this round claims
	// them again while the other replica is still checking.
	for _, r := range postponed {
		rctx, cancel := detached(ctx)
		_, err := w.sweeper.store.CompleteCheckRequest(rctx, storage.CompleteCheckRequestParams{Key: r.Key, Holder: w.cfg.Holder, RecheckAfter: w.cfg.RecheckDelay})
		cancel()
		if err != nil && !errors.Is(err, tracking.ErrClaimLost) {
			stop(fmt.Errorf("drift: hand back the check request of %s: %w", r.Key, err))
		}
	}
	err := context.Cause(ctx)
	rep.Checks.Duration = time.Since(start)
	if rep.Requests > 0 || err != nil {
		level := slog.LevelInfo
		if err != nil || rep.Checks.Failed > 0 || rep.Lost > 0 {
			level = slog.LevelWarn
		}
		w.log.Log(ctx, level, "plugindrift: push checks done",
			"requests", rep.Requests, "again", rep.Again, "postponed", rep.Postponed, "lost", rep.Lost,
			"resolved", rep.Checks.Resolved, "unchanged", rep.Checks.Unchanged, "failed", rep.Checks.Failed,
			"installs", rep.Checks.Installs, "queued", rep.Checks.Queued, "superseded", rep.Checks.Superseded,
			"max_wait", rep.MaxWait, "duration", rep.Checks.Duration, "error", err)
	}
	return rep, err
}

// checkStatus is how one claimed request ended.
type checkStatus int

const (
	checkDone      checkStatus = iota // checked and completed
	checkPostponed                    // another replica was checking the upstream
	checkLost                         // checked, but the claim was taken over meanwhile
	checkStuck                        // not completed (a store failure): it stays claimed
)

type checkResult struct {
	status checkStatus
	again  bool // more pushes arrived during the check
	report Report
	wait   time.Duration
}

// check runs Sweeper.Check on a claimed request and completes it. The
// error is a store failure.
func (w *CheckWorker) check(ctx context.Context, r storage.CheckRequest) (checkResult, error) {
	rep, err := w.sweeper.Check(ctx, r.Key)
	res := checkResult{status: checkStuck, report: rep}
	if err != nil {
		return res, err
	}
	if rep.Deferred > 0 {
		res.status = checkPostponed
		return res, nil
	}
	// A completion that started is not abandoned half-way by a Stop.
	cctx, cancel := detached(ctx)
	defer cancel()
	again, err := w.sweeper.store.CompleteCheckRequest(cctx, storage.CompleteCheckRequestParams{Key: r.Key, Holder: w.cfg.Holder, Generation: r.Generation, RecheckAfter: w.cfg.RecheckDelay})
	switch {
	case errors.Is(err, tracking.ErrClaimLost):
		res.status = checkLost
		w.log.WarnContext(ctx, "plugindrift: push check took longer than its claim; another replica took the request over", "upstream", r.Key.String(), "claim_ttl", w.cfg.ClaimTTL)
	case err != nil:
		return res, fmt.Errorf("drift: complete the check request of %s: %w", r.Key, err)
	default:
		res.status, res.again = checkDone, again
	}
	res.wait = w.sweeper.now().Sub(r.RequestedAt)
	return res, nil
}

// add counts one request's result into the round's report.
func (rep *CheckReport) add(res checkResult, maxErrors int) {
	rep.Requests++
	switch res.status {
	case checkPostponed:
		rep.Postponed++
	case checkLost:
		rep.Lost++
	}
	if res.again {
		rep.Again++
	}
	rep.MaxWait = max(rep.MaxWait, res.wait)
	c, o := &rep.Checks, res.report
	c.Upstreams += o.Upstreams
	c.Resolved += o.Resolved
	c.Unchanged += o.Unchanged
	c.Failed += o.Failed
	c.Deferred += o.Deferred
	c.Installs += o.Installs
	c.Queued += o.Queued
	c.Superseded += o.Superseded
	for _, e := range o.Errors {
		if len(c.Errors) < maxErrors {
			c.Errors = append(c.Errors, e)
		}
	}
}
