package drift

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// SweeperLeaseName is the store lease that keeps sweeps to one at a time
// across replicas.
const SweeperLeaseName = "plugindrift/sweeper"

// SweeperConfig configures a Sweeper. nil means all defaults.
type SweeperConfig struct {
	// Schedule is a robfig/cron standard spec ("@hourly", "*/15 * * * *",
	// "@every 30m") used by Start. Defaults to "@hourly".
	Schedule string
	// Jitter delays each scheduled sweep by a random duration in
	// [0, Jitter), so replicas and hosts do not all call upstream at once.
	// Defaults to 0.
	Jitter time.Duration
	// Concurrency bounds how many upstreams are resolved at once. Defaults
	// to 8.
	Concurrency int
	// WriteConcurrency bounds how many resolutions are written to the store
	// at once (reconciles and failure records), apart from the resolvers so
	// that they never wait on the database. Defaults to 2.
	WriteConcurrency int
	// ResolveTimeout bounds one resolution; an upstream that has not
	// answered by then fails with "timed out after …". With k upstreams
	// that hang, a sweep takes at most about ceil(k/Concurrency) ×
	// ResolveTimeout longer than it would without them (the hanging ones
	// hold at most Concurrency resolvers at a time, and each for at most
	// ResolveTimeout), and they back off afterwards like any failure.
	// Defaults to 30 seconds.
	ResolveTimeout time.Duration
	// LeaseTTL is how long the sweeper lease lasts without renewal; it is
	// renewed every LeaseTTL/3 while a sweep runs. Defaults to 1 minute.
	LeaseTTL time.Duration
	// Holder names this sweeper in the lease. Defaults to host name, process
	// id and a random suffix.
	Holder string
	// PageSize is how many upstreams are read from the store at a time.
	// Defaults to 500.
	PageSize int
	// Backoff says how long to leave an upstream alone after its n-th
	// consecutive failure (n ≥ 1). Defaults to DefaultBackoff.
	Backoff func(failures int) time.Duration
	// MaxReportErrors caps Report.Errors. Defaults to 100.
	MaxReportErrors int

	// AfterSweep, when set, is called after every sweep that ran to its
	// end (not skipped, not stopped), with its report, under the sweep's
	// context and while this replica still holds the sweeper lease: the
	// place to call Updater.AutoApply, so one replica at a time applies.
	// Defaults to nil.
	AfterSweep func(ctx context.Context, rep Report)

	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives the report of every sweep. Defaults to discarding.
	Logger *slog.Logger
	// Observer is shown every sweep, resolution and reconcile (metrics,
	// traces; see Observer). Defaults to nil: none.
	Observer Observer

	// Verifier checks the signature of the commit each upstream resolved
	// to under the trust policy for its source, and entries carry what it
	// found (see the package documentation, Signatures). Defaults to none:
	// every entry is not-checked.
	Verifier Verifier
}

// DefaultBackoff doubles from one minute up to six hours.
func DefaultBackoff(failures int) time.Duration {
	if failures < 1 {
		return 0
	}
	d := time.Minute << min(failures-1, 9)
	return min(d, 6*time.Hour)
}

// Report says what one sweep did.
type Report struct {
	// Skipped is set when another replica held the sweeper lease; nothing
	// else was done.
	Skipped bool
	// Upstreams is how many distinct (source, ref) pairs were listed.
	Upstreams int
	// Resolved counts successful resolutions; Unchanged counts those among
	// them that a conditional request answered as unchanged.
	Resolved  int
	Unchanged int
	// Failed counts failed resolutions; Deferred counts upstreams left
	// alone this time (backing off after failures, or their host asked to
	// wait).
	Failed   int
	Deferred int
	// Installs, Queued and Superseded add up the reconciles.
	Installs   int
	Queued     int
	Superseded int
	// Duration is how long the sweep took.
	Duration time.Duration
	// Errors holds the first failures, one per upstream.
	Errors []UpstreamError
}

// UpstreamError is one failed upstream in a Report.
type UpstreamError struct {
	Source string
	Ref    string
	Error  string
}

// Sweeper finds drift: it resolves every tracked upstream once and
// reconciles the queue with the answer. See the package documentation for
// its invariants.
type Sweeper struct {
	store    storage.Store
	resolver resolver.Resolver
	cfg      SweeperConfig
	schedule cron.Schedule
	log      *slog.Logger

	runs sweepRuns // one sweep at a time, and the latest; see sweeprun.go

	mu   sync.Mutex
	cron *cron.Cron
}

// NewSweeper returns a Sweeper. An invalid Schedule is an error here, not a
// failure later. cfg may be nil.
func NewSweeper(store storage.Store, res resolver.Resolver, cfg *SweeperConfig) (*Sweeper, error) {
	if store == nil || res == nil {
		return nil, fmt.Errorf("drift: NewSweeper needs a store and a resolver: %w", tracking.ErrInvalidArgument)
	}
	var c SweeperConfig
	if cfg != nil {
		c = *cfg
	}
	if c.Schedule == "" {
		c.Schedule = "@hourly"
	}
	sched, err := cron.ParseStandard(c.Schedule)
	if every, ok := strings.CutPrefix(c.Schedule, "@every "); ok && err == nil {
		// cron quietly turns "@every -1m" and "@every 0s" into one second.
		if d, perr := time.ParseDuration(strings.TrimSpace(every)); perr != nil || d < time.Second {
			err = errors.New("@every needs a duration of at least 1s")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("drift: schedule %q: %v (use a 5-field cron spec, @hourly, @daily or @every 30m): %w", c.Schedule, err, tracking.ErrInvalidArgument)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.WriteConcurrency <= 0 {
		c.WriteConcurrency = 2
	}
	if c.ResolveTimeout <= 0 {
		c.ResolveTimeout = 30 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Minute
	}
	if c.Holder == "" {
		c.Holder = defaultHolder()
	}
	if c.PageSize <= 0 {
		c.PageSize = 500
	}
	c.PageSize = min(c.PageSize, storage.MaxLimit)
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.MaxReportErrors <= 0 {
		c.MaxReportErrors = 100
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{store: store, resolver: res, cfg: c, schedule: sched, log: log}, nil
}

func defaultHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

func (s *Sweeper) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Start runs sweeps on the configured schedule until Stop is called or ctx
// ends. Sweeps started by the schedule use ctx. Calling Start twice without
// Stop is an error.
func (s *Sweeper) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cron != nil {
		return errors.New("drift: sweeper already started")
	}
	s.runs.begin()
	c := cron.New()
	c.Schedule(s.schedule, cron.FuncJob(func() {
		if j := s.cfg.Jitter; j > 0 {
			t := time.NewTimer(mrand.N(j))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if _, err := s.RunOnce(ctx); err != nil {
			s.log.ErrorContext(ctx, "plugindrift: sweep failed", "error", err)
		}
	}))
	c.Start()
	s.cron = c
	// ctx ending stops this schedule, not one a later Start began.
	go func() {
		<-ctx.Done()
		s.stop(c)
	}()
	return nil
}

// Stop stops the schedule and waits for a running scheduled sweep to end.
// It also ends the Sweeper's lifetime, which cancels a triggered sweep and
// waits for it (see Trigger).
func (s *Sweeper) Stop() { s.stop(nil) }

// stop stops the running schedule; when only is set, only if that is the
// one running.
func (s *Sweeper) stop(only *cron.Cron) {
	s.mu.Lock()
	c := s.cron
	if only != nil && c != only {
		s.mu.Unlock()
		return
	}
	s.cron = nil
	s.mu.Unlock()
	if c != nil {
		<-c.Stop().Done()
	}
	s.runs.stop()
}

// RunOnce runs one sweep now and returns its report. If a sweep is already
// running in this Sweeper (started by RunOnce, Trigger or the schedule),
// RunOnce waits for it and returns its report rather than starting
// another. The sweep stops early only when all who want it are gone: every
// RunOnce caller's ctx has ended, and no Trigger asked for it. If another
// replica holds the lease, the report has Skipped set. The error is non-nil
// only when the sweep could not
// run or had to stop (the store failed, ctx ended, the lease was lost);
// failing upstreams are in the report, not in the error. A sweep stopped
// midway still returns the report of what it did.
func (s *Sweeper) RunOnce(ctx context.Context) (Report, error) {
	return s.runOnce(ctx)
}

// sweep runs one sweep under the lease; ran says whether it took the
// lease (a sweep that did is recorded, see recordSweep).
func (s *Sweeper) sweep(ctx context.Context) (rep Report, ran bool, err error) {
	start := time.Now()
	ok, err := s.store.AcquireLease(ctx, storage.LeaseParams{Name: SweeperLeaseName, Holder: s.cfg.Holder, TTL: s.cfg.LeaseTTL})
	if err != nil {
		return rep, false, fmt.Errorf("drift: take sweeper lease: %w", err)
	}
	if !ok {
		rep.Skipped = true
		s.log.InfoContext(ctx, "plugindrift: sweep skipped: another replica holds the lease")
		return rep, false, nil
	}
	ctx, endSweep := observerOr(s.cfg.Observer).Sweep(ctx)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go s.renew(ctx, cancel, renewDone)
	defer func() {
		cancel(nil)
		<-renewDone
		rctx, rcancel := detached(ctx)
		defer rcancel()
		if err := s.store.ReleaseLease(rctx, SweeperLeaseName, s.cfg.Holder); err != nil {
			s.log.WarnContext(ctx, "plugindrift: release sweeper lease", "error", err)
		}
	}()

	err = s.resolveAll(ctx, &rep)
	if err == nil && s.cfg.AfterSweep != nil {
		s.cfg.AfterSweep(ctx, rep)
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	rep.Duration = time.Since(start)
	s.logReport(ctx, slog.LevelInfo, "plugindrift: sweep done", rep, err)
	endSweep(rep, err)
	if err != nil {
		return rep, true, fmt.Errorf("drift: sweep: %w", err)
	}
	return rep, true, nil
}

// logReport logs a report at level, or at Warn when something failed.
func (s *Sweeper) logReport(ctx context.Context, level slog.Level, msg string, rep Report, err error) {
	if err != nil || rep.Failed > 0 {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, msg,
		"upstreams", rep.Upstreams, "resolved", rep.Resolved, "unchanged", rep.Unchanged,
		"failed", rep.Failed, "deferred", rep.Deferred, "installs", rep.Installs,
		"queued", rep.Queued, "superseded", rep.Superseded,
		"duration", rep.Duration, "error", err)
}

// renew keeps the lease while the sweep runs; losing it stops the sweep.
func (s *Sweeper) renew(ctx context.Context, cancel context.CancelCauseFunc, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A renewal runs to its end even when the sweep ends meanwhile (the
		// sweep waits for this loop before it releases the lease): cut off
		// mid-statement, it could still commit on the database server after
		// the release and keep other replicas out for one more LeaseTTL.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.LeaseTTL)
		ok, err := s.store.AcquireLease(rctx, storage.LeaseParams{Name: SweeperLeaseName, Holder: s.cfg.Holder, TTL: s.cfg.LeaseTTL})
		rcancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			cancel(fmt.Errorf("drift: renew sweeper lease: %w", err))
			return
		}
		if !ok {
			cancel(ErrLeaseLost)
			return
		}
	}
}

// outcome is one upstream's way through the sweep: resolved, recorded,
// counted.
type outcome struct {
	up        tracking.Upstream
	ctx       context.Context // the Observer's, for the reconcile
	at        time.Time
	deferred  bool
	result    resolver.Result
	err       error // resolution failure, recorded on the upstream row
	unchanged bool
	res       storage.ReconcileResult
	rewritten []string // installed commits the new tip does not descend from
	// verification is the signature check of result.SHA, and verifyTime
	// how long Verify took (zero when it was not called).
	verification tracking.Verification
	verifyTime   time.Duration
}

// resolveAll pages through the upstreams and resolves and reconciles each
// with bounded concurrency. Only the current page is held in memory.
func (s *Sweeper) resolveAll(ctx context.Context, rep *Report) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// Three stages: the lister pages through upstreams, Concurrency
	// resolvers call upstream, WriteConcurrency writers record what they
	// learned. Resolvers never wait on the database, so a slow upstream and
	// a busy store overlap instead of adding up.
	work := make(chan tracking.Upstream)
	resolved := make(chan outcome, s.cfg.Concurrency)
	results := make(chan outcome)
	var resolvers, writers sync.WaitGroup
	for range s.cfg.Concurrency {
		resolvers.Go(func() {
			for up := range work {
				if ctx.Err() != nil {
					continue // stopping: ask upstream nothing more
				}
				o := s.resolve(ctx, up, false)
				if ctx.Err() != nil {
					continue // the sweep was stopped: record nothing more
				}
				resolved <- o
			}
		})
	}
	for range s.cfg.WriteConcurrency {
		writers.Go(func() {
			for o := range resolved {
				if ctx.Err() != nil {
					continue // stopping: start no new write
				}
				// A write that started completes or rolls back as a unit
				// under its own bounded context, whatever happens to the
				// sweep meanwhile, and what it committed is reported.
				// o.ctx descends from ctx and carries the Observer's
				// values; detached drops its cancellation either way.
				wctx, cancel := detached(o.ctx)
				err := s.record(wctx, &o)
				cancel()
				if err != nil {
					stop(err) // a store failure ends the sweep
					continue
				}
				results <- o // the collector drains until the end
			}
		})
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for o := range results {
			rep.add(o, s.cfg.MaxReportErrors)
		}
	}()

	listErr := s.list(ctx, work, &rep.Upstreams)
	close(work)
	resolvers.Wait()
	close(resolved)
	writers.Wait()
	close(results)
	<-collected
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return listErr
}

func (s *Sweeper) list(ctx context.Context, work chan<- tracking.Upstream, n *int) error {
	var after int64
	for {
		page, err := s.store.ListUpstreams(ctx, storage.ListUpstreamsParams{AfterID: after, Limit: s.cfg.PageSize})
		if err != nil {
			return fmt.Errorf("drift: list upstreams: %w", err)
		}
		for _, up := range page {
			if err := ctx.Err(); err != nil {
				return err // a select with both cases ready picks either
			}
			*n++
			select {
			case work <- up:
			case <-ctx.Done():
				return ctx.Err()
			}
			after = up.ID
		}
		if len(page) < s.cfg.PageSize {
			return nil
		}
	}
}

func (rep *Report) add(o outcome, maxErrors int) {
	switch {
	case o.deferred:
		rep.Deferred++
	case o.err != nil:
		rep.Failed++
		if len(rep.Errors) < maxErrors {
			rep.Errors = append(rep.Errors, UpstreamError{Source: o.up.Key.Source.String(), Ref: o.up.Key.Ref.String(), Error: o.err.Error()})
		}
	default:
		rep.Resolved++
		if o.unchanged {
			rep.Unchanged++
		}
		rep.Installs += o.res.Installs
		rep.Queued += o.res.Queued
		rep.Superseded += o.res.Superseded
	}
}

// errResolveTimedOut is the cause of a resolution's context when
// ResolveTimeout ran out; the message naming the upstream is built only
// then, not for every resolution.
var errResolveTimedOut = errors.New("drift: resolve timed out")

// resolve resolves one upstream under the Observer.
func (s *Sweeper) resolve(ctx context.Context, up tracking.Upstream, force bool) outcome {
	ctx, end := observerOr(s.cfg.Observer).Resolve(ctx, up.Key)
	o := s.resolveUpstream(ctx, up, force)
	o.ctx = ctx
	end(o.observed())
	return o
}

// resolveUpstream asks upstream about one upstream, unless it is backing
// off (force: ask anyway) or its host asked to wait.
func (s *Sweeper) resolveUpstream(ctx context.Context, up tracking.Upstream, force bool) outcome {
	o := outcome{up: up, at: s.now()}
	if !force && o.at.Before(s.RetryAt(up)) {
		o.deferred = true
		return o
	}
	rctx, cancel := context.WithTimeoutCause(ctx, s.cfg.ResolveTimeout, errResolveTimedOut)
	defer cancel()
	// A resolver's text is redacted once, here, for the upstream row, the
	// report and the log.
	res, err := s.resolver.Resolve(rctx, resolver.Request{
		Source: up.Key.Source, Ref: up.Key.Ref,
		Known: resolver.Known{SHA: up.LastSHA, Version: up.LastVersion, Validator: up.Validator},
	})
	err = redact.Error(err)
	if err != nil && ctx.Err() == nil && context.Cause(rctx) == errResolveTimedOut {
		// Whatever the resolver made of its deadline, say what happened.
		err = s.timedOut("resolve", up.Key)
	}
	if errors.Is(err, resolver.ErrRateLimited) {
		// The host asked to wait: not this upstream's failure. The
		// resolver holds the host back itself (the one place that rule
		// lives: see resolver.Resolver), answering at once for the others
		// on it, which are deferred the same way.
		o.deferred = true
		return o
	}
	o.result, o.err = res, err
	if err == nil {
		s.checkAncestry(rctx, &o)
	}
	if o.err == nil && !o.deferred {
		s.verify(rctx, &o)
	}
	return o
}

// timedOut is the failure of a step of a resolution (what: "resolve")
// that ran out of ResolveTimeout.
func (s *Sweeper) timedOut(what string, key tracking.UpstreamKey) error {
	return fmt.Errorf("drift: %s %s: timed out after %s (SweeperConfig.ResolveTimeout): %w", what, key, s.cfg.ResolveTimeout, context.DeadlineExceeded)
}

// record writes one resolution: a failure on the upstream row, or a
// reconcile of the queue. The returned error is a store failure, which ends
// the sweep. ctx is the write's own, not the sweep's.
func (s *Sweeper) record(ctx context.Context, o *outcome) error {
	if o.deferred {
		return nil
	}
	if o.err == nil {
		res := o.result
		o.unchanged = res.Unchanged
		var err error
		rctx, end := observerOr(s.cfg.Observer).Reconcile(ctx, o.up.Key)
		o.res, err = s.store.Reconcile(rctx, storage.ReconcileParams{
			Key: o.up.Key, SHA: res.SHA, Version: res.Version, Validator: res.Validator, Now: o.at,
			Rewritten: o.rewritten, Verification: o.verification,
		})
		end(o.res, err)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || !(errors.Is(err, tracking.ErrInvalidArgument) || errors.Is(err, tracking.ErrInvalidSHA)) {
			return fmt.Errorf("drift: reconcile %s: %w", o.up.Key, err)
		}
		// The resolver answered something unusable: that upstream fails.
		o.err = fmt.Errorf("drift: resolver answer for %s: %w", o.up.Key, err)
	}
	// Backoff counts from when the failure happened, not from when the
	// attempt started: a slow failure must not use up its own backoff.
	if err := s.store.RecordUpstreamFailure(ctx, o.up.Key, o.err.Error(), s.now()); err != nil {
		return fmt.Errorf("drift: record failure of %s: %w", o.up.Key, err)
	}
	return nil
}
