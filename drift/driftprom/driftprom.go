// Package driftprom exports plugindrift's metrics to Prometheus
// (github.com/prometheus/client_golang). The core packages never import
// it: a host that wants metrics makes a Metrics, registers it, and passes it
// as the Observer of its Sweeper and Updater:
//
//	m, err := driftprom.New(store, nil)
//	prometheus.MustRegister(m)
//	sweeper, err := drift.NewSweeper(store, res, &drift.SweeperConfig{Observer: m})
//	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{Observer: m})
//	http.Handle("/metrics", promhttp.Handler())
//
// # Metrics
//
//	plugindrift_sweep_duration_seconds{result}             histogram  result: ok, error
//	plugindrift_sweep_upstreams_total{result}              counter    resolved, unchanged, failed, deferred (sweeps and checks)
//	plugindrift_check_duration_seconds{result}             histogram  Sweeper.Check (push webhooks, "check now"); result: ok, error
//	plugindrift_applies_total{outcome}                     counter    drift.ApplyOutcome: applied, install_failed, restart_failed, …
//	plugindrift_apply_step_duration_seconds{step,result}   histogram  step: install, record, restart; result: ok, error
//	plugindrift_updates_open{status,kind}                  gauge      open entries (pending, applying) by kind (read at scrape)
//	plugindrift_upstreams_failing                          gauge      tracked upstreams whose last resolution failed (read at scrape)
//	plugindrift_events_pending{subscriber}                 gauge      events after the subscriber's cursor (read at scrape)
//	plugindrift_events_dead{subscriber}                    gauge      events dead for the subscriber (read at scrape)
//	plugindrift_events_delivery_attempts{subscriber}       gauge      failed attempts of the subscriber's next event
//
// Labels take only bounded values: results, outcomes, steps and the names
// of the host's subscribers — never workspace ids, plugin names or
// sources. The gauges cost three store queries per scrape:
// storage.Store.CountOpenUpdates (open entries number at most one per
// install, and are counted by index), CountFailingUpstreams (one pass
// over the upstream rows, in the database) and ListSubscriptions (one row
// per subscriber, counting only the events after its cursor), never a
// scan of installs or of the history. GitHub's remaining rate limit is
// not exported: the github resolver does not expose it.
package driftprom

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Config configures Metrics. nil means all defaults.
type Config struct {
	// ScrapeTimeout bounds the store query of one scrape. Defaults to 5
	// seconds.
	ScrapeTimeout time.Duration
	// Now times the observed steps. Defaults to time.Now.
	Now func() time.Time
}

// Metrics is a prometheus.Collector and a drift.Observer.
type Metrics struct {
	drift.NopObserver

	store   storage.Store
	timeout time.Duration
	now     func() time.Time

	sweepDuration *prometheus.HistogramVec
	checkDuration *prometheus.HistogramVec
	upstreams     *prometheus.CounterVec
	applies       *prometheus.CounterVec
	stepDuration  *prometheus.HistogramVec

	open, failing, pending, dead, attempts *prometheus.Desc
	scrapeErrors                           prometheus.Counter
}

var _ drift.Observer = (*Metrics)(nil)

// New returns Metrics reading the queue and event gauges from store (nil:
// none of those gauges). cfg may be nil.
func New(store storage.Store, cfg *Config) (*Metrics, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.ScrapeTimeout < 0 {
		return nil, errors.New("driftprom: Config.ScrapeTimeout must not be negative")
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Metrics{
		store: store, timeout: c.ScrapeTimeout, now: c.Now,
		sweepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plugindrift_sweep_duration_seconds", Help: "How long sweeps took, by result (ok or error).",
			Buckets: prometheus.ExponentialBuckets(0.1, 2, 14),
		}, []string{"result"}),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plugindrift_check_duration_seconds", Help: "How long checks of chosen upstreams (push webhooks, check now) took, by result (ok or error).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}, []string{"result"}),
		upstreams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plugindrift_sweep_upstreams_total", Help: "Upstreams looked at by sweeps and checks, by result (resolved, unchanged, failed, deferred).",
		}, []string{"result"}),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plugindrift_applies_total", Help: "Updater.Apply calls, by outcome.",
		}, []string{"outcome"}),
		stepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "plugindrift_apply_step_duration_seconds", Help: "How long the steps of applies took (install, record, restart), by result (ok or error).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}, []string{"step", "result"}),
		failing:  prometheus.NewDesc("plugindrift_upstreams_failing", "Tracked upstreams whose last resolution failed.", nil, nil),
		open:     prometheus.NewDesc("plugindrift_updates_open", "Open queue entries (pending or applying), by status and kind.", []string{"status", "kind"}, nil),
		pending:  prometheus.NewDesc("plugindrift_events_pending", "Events after the subscriber's cursor, waiting for delivery.", []string{"subscriber"}, nil),
		dead:     prometheus.NewDesc("plugindrift_events_dead", "Events dead for the subscriber (see the admin API's dead events).", []string{"subscriber"}, nil),
		attempts: prometheus.NewDesc("plugindrift_events_delivery_attempts", "Failed delivery attempts of the subscriber's next event.", []string{"subscriber"}, nil),
		scrapeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plugindrift_metrics_scrape_errors_total", Help: "Scrapes whose store query failed.",
		}),
	}, nil
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// Sweep implements drift.Observer.
func (m *Metrics) Sweep(ctx context.Context) (context.Context, func(drift.Report, error)) {
	start := m.now()
	return ctx, func(_ drift.Report, err error) {
		m.sweepDuration.WithLabelValues(result(err)).Observe(m.now().Sub(start).Seconds())
	}
}

// Check implements drift.Observer.
func (m *Metrics) Check(ctx context.Context) (context.Context, func(drift.Report, error)) {
	start := m.now()
	return ctx, func(_ drift.Report, err error) {
		m.checkDuration.WithLabelValues(result(err)).Observe(m.now().Sub(start).Seconds())
	}
}

// Resolve implements drift.Observer.
func (m *Metrics) Resolve(ctx context.Context, _ tracking.UpstreamKey) (context.Context, func(drift.ResolveOutcome)) {
	return ctx, func(o drift.ResolveOutcome) { m.upstreams.WithLabelValues(o.Result).Inc() }
}

// Apply implements drift.Observer.
func (m *Metrics) Apply(ctx context.Context, _ int64) (context.Context, func(tracking.Update, error)) {
	return ctx, func(_ tracking.Update, err error) { m.applies.WithLabelValues(drift.ApplyOutcome(err)).Inc() }
}

// ApplyStep implements drift.Observer.
func (m *Metrics) ApplyStep(ctx context.Context, step drift.ApplyStep, _ tracking.Update) (context.Context, func(error)) {
	start := m.now()
	return ctx, func(err error) {
		m.stepDuration.WithLabelValues(string(step), result(err)).Observe(m.now().Sub(start).Seconds())
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sweepDuration.Describe(ch)
	m.checkDuration.Describe(ch)
	m.upstreams.Describe(ch)
	m.applies.Describe(ch)
	m.stepDuration.Describe(ch)
	m.scrapeErrors.Describe(ch)
	if m.store != nil {
		ch <- m.open
		ch <- m.failing
		ch <- m.pending
		ch <- m.dead
		ch <- m.attempts
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sweepDuration.Collect(ch)
	m.checkDuration.Collect(ch)
	m.upstreams.Collect(ch)
	m.applies.Collect(ch)
	m.stepDuration.Collect(ch)
	if m.store != nil {
		m.collectStore(ch)
	}
	m.scrapeErrors.Collect(ch)
}

func (m *Metrics) collectStore(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	// Each read stands alone: one that fails costs its own gauges, not
	// the others'.
	if counts, err := m.store.CountOpenUpdates(ctx); err != nil {
		m.scrapeErrors.Inc()
	} else {
		for _, c := range counts {
			ch <- prometheus.MustNewConstMetric(m.open, prometheus.GaugeValue, float64(c.Count), string(c.Status), string(c.Kind))
		}
	}
	if failing, err := m.store.CountFailingUpstreams(ctx); err != nil {
		m.scrapeErrors.Inc()
	} else {
		ch <- prometheus.MustNewConstMetric(m.failing, prometheus.GaugeValue, float64(failing))
	}
	if subs, err := m.store.ListSubscriptions(ctx); err != nil {
		m.scrapeErrors.Inc()
	} else {
		for _, s := range subs {
			ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(s.Pending), s.Name)
			ch <- prometheus.MustNewConstMetric(m.dead, prometheus.GaugeValue, float64(s.Dead), s.Name)
			ch <- prometheus.MustNewConstMetric(m.attempts, prometheus.GaugeValue, float64(s.Attempts), s.Name)
		}
	}
}
