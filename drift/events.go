package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// EventLeasePrefix begins the name of the store lease that keeps one
// deliverer per subscriber across replicas: "plugindrift/events/<name>".
const EventLeasePrefix = "plugindrift/events/"

// Subscriber is a named receiver of events. Name identifies its delivery
// state in the store (see storage.ValidateSubscriberName); keep it when
// the host restarts, or delivery starts over under the new name.
//
// Deliver must return nil only once the event is taken: an error (or a
// panic-free return after ctx ended) means it is tried again. It may see an
// event more than once (after a crash between its return and the record
// of it), always with the same ID: a receiver drops duplicates by
// tracking.Event.ID.
type Subscriber struct {
	Name    string
	Deliver func(ctx context.Context, ev tracking.Event) error
}

// DispatcherConfig configures a Dispatcher. nil means all defaults.
type DispatcherConfig struct {
	// MaxAttempts is how many failed deliveries of one event make it dead
	// for that subscriber. Defaults to 10.
	MaxAttempts int
	// Backoff says how long to wait after the n-th failed delivery
	// (n ≥ 1) of an event before the next. Defaults to DefaultEventBackoff.
	Backoff func(failures int) time.Duration
	// DeliverTimeout bounds one call of Subscriber.Deliver. Defaults to 30
	// seconds.
	DeliverTimeout time.Duration
	// LeaseTTL is how long a subscriber's lease lasts without renewal; it
	// is renewed before every batch. Defaults to 1 minute.
	LeaseTTL time.Duration
	// Holder names this dispatcher in the leases. Defaults to host name,
	// process id and a random suffix.
	Holder string
	// BatchSize is how many events are read from the store at a time.
	// Defaults to 100.
	BatchSize int
	// PollInterval is how often Run looks for new events when it has
	// delivered everything (Notify wakes it sooner). Defaults to 1 second.
	PollInterval time.Duration
	// RetainDelivered is how long an event is kept after it was written,
	// once every subscriber is past it; Run prunes older ones about once
	// an hour (see Prune). Defaults to 7 days.
	RetainDelivered time.Duration

	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives failed deliveries and dead events. Defaults to
	// discarding.
	Logger *slog.Logger
}

// DefaultEventBackoff doubles from one second up to five minutes.
func DefaultEventBackoff(failures int) time.Duration {
	if failures < 1 {
		return 0
	}
	return min(time.Second<<min(failures-1, 9), 5*time.Minute)
}

// DispatchReport says what one Dispatcher.RunOnce did.
type DispatchReport struct {
	// Delivered, Failed and Dead count delivery outcomes over all
	// subscribers (a dead event also counts as failed).
	Delivered, Failed, Dead int
	// Busy names the subscribers another replica was delivering to.
	Busy []string
}

// Dispatcher delivers the store's events to named subscribers.
//
// # Delivery
//
// Each subscriber has a cursor in the store (storage.Subscription) and
// receives events in ID order, one at a time: everything after the cursor,
// oldest first, so the events of one install arrive in the order they were
// written. An event that fails is retried, with Backoff, before any later
// one; after MaxAttempts failures it becomes dead for that subscriber (the
// admin API lists it and can retry it) and delivery goes on with the next.
// The cursor moves only after Deliver returned: it is recorded once per
// batch of successes (and before any failure is recorded), so a crash
// redelivers at most BatchSize events: delivery is at least once, never
// skipping, and a redelivery carries the same event ID.
//
// At most one process delivers to a subscriber at a time: the store lease
// EventLeasePrefix+name, renewed before every batch. A replica that finds
// it held by another skips that subscriber; if the holder dies, the lease
// expires after LeaseTTL and another replica goes on from the cursor.
type Dispatcher struct {
	store storage.Store
	subs  []Subscriber
	cfg   DispatcherConfig
	log   *slog.Logger
	wake  chan struct{}
}

// NewDispatcher returns a Dispatcher delivering to subs. Names must be
// valid and distinct and every subscriber must have a Deliver function.
// cfg may be nil.
func NewDispatcher(store storage.Store, subs []Subscriber, cfg *DispatcherConfig) (*Dispatcher, error) {
	if store == nil {
		return nil, fmt.Errorf("drift: NewDispatcher needs a store: %w", tracking.ErrInvalidArgument)
	}
	seen := map[string]bool{}
	for _, s := range subs {
		if err := storage.ValidateSubscriberName(s.Name); err != nil {
			return nil, fmt.Errorf("drift: NewDispatcher: %w", err)
		}
		if s.Deliver == nil {
			return nil, fmt.Errorf("drift: NewDispatcher: subscriber %s has no Deliver function: %w", s.Name, tracking.ErrInvalidArgument)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("drift: NewDispatcher: two subscribers are named %s: give each its own name: %w", s.Name, tracking.ErrInvalidArgument)
		}
		seen[s.Name] = true
	}
	var c DispatcherConfig
	if cfg != nil {
		c = *cfg
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.Backoff == nil {
		c.Backoff = DefaultEventBackoff
	}
	if c.DeliverTimeout <= 0 {
		c.DeliverTimeout = 30 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = time.Minute
	}
	if c.Holder == "" {
		c.Holder = defaultHolder()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 100
	}
	c.BatchSize = min(c.BatchSize, storage.MaxLimit)
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.RetainDelivered <= 0 {
		c.RetainDelivered = 7 * 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: store, subs: subs, cfg: c, log: log, wake: make(chan struct{}, 1)}, nil
}

func (d *Dispatcher) now() time.Time { return d.cfg.Now().UTC().Truncate(time.Microsecond) }

// Notify wakes Run to look for events now, e.g. after a sweep. It never
// blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: RunOnce, then a wait of PollInterval (or
// until Notify), again; and Prune about once an hour. Store failures are
// logged and retried on the next round. It returns ctx's error.
func (d *Dispatcher) Run(ctx context.Context) error {
	var pruned time.Time
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "plugindrift: event delivery round failed", "error", err)
		}
		if now := d.now(); now.Sub(pruned) >= time.Hour {
			if _, err := d.Prune(ctx); err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "plugindrift: prune events", "error", err)
			} else {
				pruned = now
			}
		}
		t := time.NewTimer(d.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-d.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Prune deletes events older than RetainDelivered that every subscriber
// is past and nobody holds dead, and returns how many. It registers this
// Dispatcher's subscribers first, so events none of them has seen yet are
// kept for them.
func (d *Dispatcher) Prune(ctx context.Context) (int, error) {
	for _, sub := range d.subs {
		if _, err := d.store.EnsureSubscription(ctx, sub.Name); err != nil {
			return 0, fmt.Errorf("drift: prune events: %w", err)
		}
	}
	n, err := d.store.PruneEvents(ctx, storage.PruneEventsParams{Before: d.now().Add(-d.cfg.RetainDelivered)})
	if err != nil {
		return 0, fmt.Errorf("drift: prune events: %w", err)
	}
	return n, nil
}

// RunOnce delivers, to every subscriber whose lease it gets, the dead
// events an operator asked to retry and then every event after its cursor,
// until none is left, a delivery fails (the next attempt waits for its
// backoff: a later RunOnce), or ctx ends. The error is a store failure or
// ctx's; failed deliveries are in the report.
func (d *Dispatcher) RunOnce(ctx context.Context) (DispatchReport, error) {
	var rep DispatchReport
	var errs []error
	for _, sub := range d.subs {
		if err := d.runSubscriber(ctx, sub, &rep); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("drift: deliver to %s: %w", sub.Name, err))
		}
	}
	return rep, errors.Join(errs...)
}

func (d *Dispatcher) runSubscriber(ctx context.Context, sub Subscriber, rep *DispatchReport) error {
	lease := storage.LeaseParams{Name: EventLeasePrefix + sub.Name, Holder: d.cfg.Holder, TTL: d.cfg.LeaseTTL}
	ok, err := d.store.AcquireLease(ctx, lease)
	if err != nil {
		return err
	}
	if !ok {
		rep.Busy = append(rep.Busy, sub.Name)
		return nil
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		_ = d.store.ReleaseLease(rctx, lease.Name, lease.Holder)
	}()
	state, err := d.store.EnsureSubscription(ctx, sub.Name)
	if err != nil {
		return err
	}
	if err := d.retryDead(ctx, sub, rep); err != nil {
		return err
	}
	for {
		if !state.RetryAt.IsZero() && d.now().Before(state.RetryAt) {
			return nil // backing off
		}
		evs, err := d.store.ListEvents(ctx, storage.ListEventsParams{AfterID: state.AfterID, Limit: d.cfg.BatchSize})
		if err != nil || len(evs) == 0 {
			return err
		}
		// Successes are recorded once per batch, and before a failure is.
		var done int64 // the last event delivered and not recorded yet
		flush := func() error {
			if done == 0 {
				return nil
			}
			rctx, cancel := detached(ctx)
			defer cancel()
			next, err := d.store.RecordDelivery(rctx, storage.RecordDeliveryParams{Subscriber: sub.Name, EventID: done, Outcome: storage.Delivered, At: d.now()})
			if err == nil {
				state, done = next, 0
			}
			return err
		}
		for _, ev := range evs {
			err := d.call(ctx, sub, ev)
			if ctx.Err() != nil {
				// Stopping: this event is delivered again later.
				return errors.Join(ctx.Err(), flush())
			}
			if err == nil {
				rep.Delivered++
				done = ev.ID
				continue
			}
			if err := flush(); err != nil {
				return err
			}
			var failed bool
			if state, failed, err = d.fail(ctx, sub, ev, state, err, rep); err != nil || failed {
				return err
			}
		}
		if err := flush(); err != nil {
			return err
		}
		// Renew before the next batch; a lost lease hands the rest over.
		if ok, err := d.store.AcquireLease(ctx, lease); err != nil || !ok {
			return err
		}
	}
}

// fail records a failed delivery of ev, the next event after the cursor:
// failed again, or dead after MaxAttempts. It reports whether the
// subscriber waits now (failed, not dead).
func (d *Dispatcher) fail(ctx context.Context, sub Subscriber, ev tracking.Event, state storage.Subscription, err error, rep *DispatchReport) (storage.Subscription, bool, error) {
	p := storage.RecordDeliveryParams{Subscriber: sub.Name, EventID: ev.ID, Message: err.Error(), At: d.now()}
	rep.Failed++
	failures := state.Attempts + 1
	if failures >= d.cfg.MaxAttempts {
		p.Outcome = storage.Dead
		rep.Dead++
		d.log.ErrorContext(ctx, "plugindrift: event dead", "subscriber", sub.Name, "event", ev.ID, "type", ev.Type, "attempts", failures, "error", p.Message)
	} else {
		p.Outcome, p.RetryAt = storage.Failed, p.At.Add(d.cfg.Backoff(failures))
		d.log.WarnContext(ctx, "plugindrift: event delivery failed", "subscriber", sub.Name, "event", ev.ID, "type", ev.Type, "attempts", failures, "retry_at", p.RetryAt, "error", p.Message)
	}
	rctx, cancel := detached(ctx)
	defer cancel()
	next, rerr := d.store.RecordDelivery(rctx, p)
	if rerr != nil {
		return state, true, rerr
	}
	return next, p.Outcome == storage.Failed, nil
}

// retryDead delivers the dead events an operator asked to retry, once
// each.
func (d *Dispatcher) retryDead(ctx context.Context, sub Subscriber, rep *DispatchReport) error {
	var after int64
	for {
		dead, err := d.store.ListDeadEvents(ctx, storage.ListDeadEventsParams{Subscriber: sub.Name, Retrying: true, AfterID: after, Limit: d.cfg.BatchSize})
		if err != nil || len(dead) == 0 {
			return err
		}
		for _, de := range dead {
			after = de.Event.ID
			err := d.call(ctx, sub, de.Event)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p := storage.RecordDeliveryParams{Subscriber: sub.Name, EventID: de.Event.ID, Outcome: storage.Delivered, At: d.now()}
			if err != nil {
				rep.Failed++
				p.Outcome, p.Message = storage.Failed, err.Error()
			} else {
				rep.Delivered++
			}
			rctx, cancel := detached(ctx)
			_, err = d.store.RecordDelivery(rctx, p)
			cancel()
			if err != nil {
				return err
			}
		}
	}
}

// call runs Deliver under DeliverTimeout; its error text is redacted here,
// once, for the store and the log.
func (d *Dispatcher) call(ctx context.Context, sub Subscriber, ev tracking.Event) error {
	cctx, cancel := context.WithTimeout(ctx, d.cfg.DeliverTimeout)
	defer cancel()
	err := sub.Deliver(cctx, ev)
	if err != nil && err.Error() == "" {
		err = errors.New("delivery failed")
	}
	return redact.Error(err)
}

// # Observers
//
// An Observer watches sweeps and applies as they happen, for metrics and
// traces (drift/driftprom and drift/drifttrace implement it; a host may
// plug in its own). Each method is called when a step begins and returns
// the context the step runs under (a tracer puts its span there) and a
// function the Sweeper or Updater calls exactly once when the step ends.
// Observers must be safe for concurrent use and quick: they run on the
// sweep's and the apply's own goroutines. Embed NopObserver to implement
// only some methods.
type Observer interface {
	// Sweep: a sweep that took the sweeper lease begins; end gets its
	// report and error.
	Sweep(ctx context.Context) (context.Context, func(rep Report, err error))
	// Check: Sweeper.Check of some upstreams begins (for a push webhook
	// or an operator's "check now"); end gets its report and error. Its
	// upstreams are shown to Resolve and Reconcile as a sweep's are.
	Check(ctx context.Context) (context.Context, func(rep Report, err error))
	// Resolve: one upstream of a sweep is resolved (or deferred).
	Resolve(ctx context.Context, key tracking.UpstreamKey) (context.Context, func(ResolveOutcome))
	// Reconcile: the answer of a resolved upstream is written to the
	// queue. Its context descends from the upstream's Resolve.
	Reconcile(ctx context.Context, key tracking.UpstreamKey) (context.Context, func(storage.ReconcileResult, error))
	// Apply: Updater.Apply of entry id begins; end gets what Apply
	// returned (see ApplyOutcome).
	Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error))
	// ApplyStep: one step of an apply that holds the claim.
	ApplyStep(ctx context.Context, step ApplyStep, e tracking.Update) (context.Context, func(error))
}

// ApplyStep names a step of Updater.Apply.
type ApplyStep string

const (
	// StepInstall runs the Installer.
	StepInstall ApplyStep = "install"
	// StepRecord writes the outcome of the install to the store.
	StepRecord ApplyStep = "record"
	// StepRestart runs the Restarter.
	StepRestart ApplyStep = "restart"
)

// Results of ResolveOutcome, the Report's counters by name.
const (
	ResolveResolved  = "resolved"
	ResolveUnchanged = "unchanged"
	ResolveFailed    = "failed"
	ResolveDeferred  = "deferred"
)

// ResolveOutcome is how one upstream's resolution ended.
type ResolveOutcome struct {
	// Result is ResolveResolved, ResolveUnchanged, ResolveFailed or
	// ResolveDeferred.
	Result string
	// SHA and Version are the answer when resolved; Err the failure
	// (redacted).
	SHA, Version string
	Err          error
	// Verify is how long the signature check (SweeperConfig.Verifier)
	// took; zero when it was not called (no policy, or an unchanged
	// upstream kept its verification).
	Verify time.Duration
}

// ApplyOutcome names what an Updater.Apply error means, for metrics and
// traces: "applied" (nil), "install_failed", "restart_failed",
// "claim_lost", "busy", "conflict", "not_found" or "error".
func ApplyOutcome(err error) string {
	switch {
	case err == nil:
		return "applied"
	case errors.Is(err, ErrInstallFailed):
		return "install_failed"
	case errors.Is(err, ErrRestartFailed):
		return "restart_failed"
	case errors.Is(err, tracking.ErrClaimLost):
		return "claim_lost"
	case errors.Is(err, tracking.ErrBusy):
		return "busy"
	case errors.Is(err, tracking.ErrConflict):
		return "conflict"
	case errors.Is(err, tracking.ErrNotFound):
		return "not_found"
	}
	return "error"
}

// NopObserver observes nothing; embed it to implement part of Observer.
type NopObserver struct{}

// Sweep implements Observer.
func (NopObserver) Sweep(ctx context.Context) (context.Context, func(Report, error)) {
	return ctx, func(Report, error) {}
}

// Check implements Observer.
func (NopObserver) Check(ctx context.Context) (context.Context, func(Report, error)) {
	return ctx, func(Report, error) {}
}

// Resolve implements Observer.
func (NopObserver) Resolve(ctx context.Context, _ tracking.UpstreamKey) (context.Context, func(ResolveOutcome)) {
	return ctx, func(ResolveOutcome) {}
}

// Reconcile implements Observer.
func (NopObserver) Reconcile(ctx context.Context, _ tracking.UpstreamKey) (context.Context, func(storage.ReconcileResult, error)) {
	return ctx, func(storage.ReconcileResult, error) {}
}

// Apply implements Observer.
func (NopObserver) Apply(ctx context.Context, _ int64) (context.Context, func(tracking.Update, error)) {
	return ctx, func(tracking.Update, error) {}
}

// ApplyStep implements Observer.
func (NopObserver) ApplyStep(ctx context.Context, _ ApplyStep, _ tracking.Update) (context.Context, func(error)) {
	return ctx, func(error) {}
}

// Observers combines several observers into one: each step is shown to
// each, in order, and each one's context is handed to the next. nil
// entries are skipped.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	return list
}

type multiObserver []Observer

// chain starts one step on each observer in order, handing each one's
// context to the next, and returns the last context with a function that
// calls each end, in reverse order, through call.
func chain[End any](ctx context.Context, m multiObserver, start func(Observer, context.Context) (context.Context, End)) (context.Context, func(call func(End))) {
	ends := make([]End, len(m))
	for i, o := range m {
		ctx, ends[i] = start(o, ctx)
	}
	return ctx, func(call func(End)) {
		for i := len(ends) - 1; i >= 0; i-- {
			call(ends[i])
		}
	}
}

func (m multiObserver) Sweep(ctx context.Context) (context.Context, func(Report, error)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(Report, error)) { return o.Sweep(ctx) })
	return ctx, func(r Report, err error) { each(func(end func(Report, error)) { end(r, err) }) }
}

func (m multiObserver) Check(ctx context.Context) (context.Context, func(Report, error)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(Report, error)) { return o.Check(ctx) })
	return ctx, func(r Report, err error) { each(func(end func(Report, error)) { end(r, err) }) }
}

func (m multiObserver) Resolve(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(ResolveOutcome)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(ResolveOutcome)) {
		return o.Resolve(ctx, k)
	})
	return ctx, func(out ResolveOutcome) { each(func(end func(ResolveOutcome)) { end(out) }) }
}

func (m multiObserver) Reconcile(ctx context.Context, k tracking.UpstreamKey) (context.Context, func(storage.ReconcileResult, error)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(storage.ReconcileResult, error)) {
		return o.Reconcile(ctx, k)
	})
	return ctx, func(r storage.ReconcileResult, err error) {
		each(func(end func(storage.ReconcileResult, error)) { end(r, err) })
	}
}

func (m multiObserver) Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(tracking.Update, error)) {
		return o.Apply(ctx, id)
	})
	return ctx, func(u tracking.Update, err error) { each(func(end func(tracking.Update, error)) { end(u, err) }) }
}

func (m multiObserver) ApplyStep(ctx context.Context, step ApplyStep, e tracking.Update) (context.Context, func(error)) {
	ctx, each := chain(ctx, m, func(o Observer, ctx context.Context) (context.Context, func(error)) { return o.ApplyStep(ctx, step, e) })
	return ctx, func(err error) { each(func(end func(error)) { end(err) }) }
}

// observerOr returns o, or NopObserver when o is nil.
func observerOr(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}

// observed is how the outcome of a resolution is shown to an Observer.
func (o outcome) observed() ResolveOutcome {
	switch {
	case o.deferred:
		return ResolveOutcome{Result: ResolveDeferred, Verify: o.verifyTime}
	case o.err != nil:
		return ResolveOutcome{Result: ResolveFailed, Err: o.err, Verify: o.verifyTime}
	case o.result.Unchanged:
		return ResolveOutcome{Result: ResolveUnchanged, SHA: o.result.SHA, Version: o.result.Version, Verify: o.verifyTime}
	}
	return ResolveOutcome{Result: ResolveResolved, SHA: o.result.SHA, Version: o.result.Version, Verify: o.verifyTime}
}
