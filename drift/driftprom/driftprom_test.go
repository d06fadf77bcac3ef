package driftprom_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/drift/driftprom"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// script answers each source with a commit or an error.
type script map[string]error

func (s script) Resolve(_ context.Context, req resolver.Request) (resolver.Result, error) {
	if err := s[req.Source.String()]; err != nil {
		return resolver.Result{}, err
	}
	return resolver.Result{SHA: strings.Repeat("b", 40)}, nil
}

func TestMetricsOfAScriptedSweepAndApply(t *testing.T) {
	ctx := t.Context()
	clock := fakeclock.New(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	store := memstore.New()
	ref, _ := tracking.ParseRef("branch:main")
	for _, src := range []string{"github://acme/a", "github://acme/b", "github://acme/broken"} {
		s, err := tracking.ParseSource(src)
		require.NoError(t, err)
		_, err = store.UpsertInstall(ctx, tracking.Install{WorkspaceID: "ws-1", PluginName: strings.TrimPrefix(src, "github://acme/"), Source: s, Ref: ref,
			InstalledSHA: strings.Repeat("a", 40), UpdatedAt: clock.Now()})
		require.NoError(t, err)
	}
	m, err := driftprom.New(store, &driftprom.Config{Now: clock.Now})
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))

	sweeper, err := drift.NewSweeper(store, script{"github://acme/broken": errors.New("boom")}, &drift.SweeperConfig{Observer: m, Now: clock.Now})
	require.NoError(t, err)
	_, err = sweeper.RunOnce(ctx)
	require.NoError(t, err)

	// One install fails, the next apply installs; the restart fails.
	installs := 0
	installer := drift.InstallerFunc(func(context.Context, drift.InstallRequest) error {
		installs++
		clock.Advance(3 * time.Second)
		if installs == 1 {
			return errors.New("disk full")
		}
		return nil
	})
	restarter := drift.RestarterFunc(func(context.Context, string) error { return errors.New("exit 1") })
	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{Observer: m, Now: clock.Now})
	require.NoError(t, err)
	us, err := store.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10})
	require.NoError(t, err)
	require.Len(t, us, 2)
	_, err = updater.Apply(ctx, us[0].ID, "ops")
	require.ErrorIs(t, err, drift.ErrInstallFailed)
	_, err = updater.Apply(ctx, us[0].ID, "ops")
	require.ErrorIs(t, err, drift.ErrRestartFailed)

	_, err = store.EnsureSubscription(ctx, "slack")
	require.NoError(t, err)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP plugindrift_sweep_upstreams_total Upstreams looked at by sweeps and checks, by result (resolved, unchanged, failed, deferred).
# TYPE plugindrift_sweep_upstreams_total counter
plugindrift_sweep_upstreams_total{result="failed"} 1
plugindrift_sweep_upstreams_total{result="resolved"} 2
# HELP plugindrift_applies_total Updater.Apply calls, by outcome.
# TYPE plugindrift_applies_total counter
plugindrift_applies_total{outcome="install_failed"} 1
plugindrift_applies_total{outcome="restart_failed"} 1
`), "plugindrift_sweep_upstreams_total", "plugindrift_applies_total"))

	// Each install took 3 s by the injected clock.
	h := histogram(t, reg, "plugindrift_apply_step_duration_seconds", map[string]string{"step": "install", "result": "error"})
	assert.Equal(t, uint64(1), h.GetSampleCount())
	assert.InDelta(t, 3.0, h.GetSampleSum(), 1e-9)
	h = histogram(t, reg, "plugindrift_apply_step_duration_seconds", map[string]string{"step": "restart", "result": "error"})
	assert.Equal(t, uint64(1), h.GetSampleCount())
	h = histogram(t, reg, "plugindrift_sweep_duration_seconds", map[string]string{"result": "ok"})
	assert.Equal(t, uint64(1), h.GetSampleCount())

	// One entry applied, the other still pending.
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP plugindrift_updates_open Open queue entries (pending or applying), by status and kind.
# TYPE plugindrift_updates_open gauge
plugindrift_updates_open{kind="new-commit",status="pending"} 1
# HELP plugindrift_upstreams_failing Tracked upstreams whose last resolution failed.
# TYPE plugindrift_upstreams_failing gauge
plugindrift_upstreams_failing 1
`), "plugindrift_updates_open", "plugindrift_upstreams_failing"))

	evs, err := store.ListEvents(ctx, storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP plugindrift_events_pending Events after the subscriber's cursor, waiting for delivery.
# TYPE plugindrift_events_pending gauge
plugindrift_events_pending{subscriber="slack"} `+strconv.Itoa(len(evs))+`
# HELP plugindrift_events_dead Events dead for the subscriber (see the admin API's dead events).
# TYPE plugindrift_events_dead gauge
plugindrift_events_dead{subscriber="slack"} 0
`), "plugindrift_events_pending", "plugindrift_events_dead"))
	assert.Equal(t, 5, len(evs), "2 queued, apply_failed, applied, restart_failed")

	// A check (a push webhook's, or "check now") is timed apart from
	// sweeps; its upstream counts with the sweeps'.
	src, err := tracking.ParseSource("github://acme/a")
	require.NoError(t, err)
	_, err = sweeper.Check(ctx, tracking.UpstreamKey{Source: src, Ref: ref})
	require.NoError(t, err)
	h = histogram(t, reg, "plugindrift_check_duration_seconds", map[string]string{"result": "ok"})
	assert.Equal(t, uint64(1), h.GetSampleCount())
	h = histogram(t, reg, "plugindrift_sweep_duration_seconds", map[string]string{"result": "ok"})
	assert.Equal(t, uint64(1), h.GetSampleCount(), "a check is not a sweep")
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP plugindrift_sweep_upstreams_total Upstreams looked at by sweeps and checks, by result (resolved, unchanged, failed, deferred).
# TYPE plugindrift_sweep_upstreams_total counter
plugindrift_sweep_upstreams_total{result="failed"} 1
plugindrift_sweep_upstreams_total{result="resolved"} 3
`), "plugindrift_sweep_upstreams_total"), "the sweep's two and the check's one")
}

// histogram returns the one series of name with exactly labels.
func histogram(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			return m.GetHistogram()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return nil
}

// failingCounts is a store whose CountOpenUpdates fails.
type failingCounts struct{ storage.Store }

func (failingCounts) CountOpenUpdates(context.Context) ([]storage.UpdateCount, error) {
	return nil, errors.New("database is locked")
}

// TestAFailedReadCostsOnlyItsGauges: one store read that fails counts a
// scrape error and leaves the other gauges of the scrape in place.
func TestAFailedReadCostsOnlyItsGauges(t *testing.T) {
	store := memstore.New()
	_, err := store.EnsureSubscription(t.Context(), "slack")
	require.NoError(t, err)
	m, err := driftprom.New(failingCounts{store}, nil)
	require.NoError(t, err)
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(m))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP plugindrift_metrics_scrape_errors_total Scrapes whose store query failed.
# TYPE plugindrift_metrics_scrape_errors_total counter
plugindrift_metrics_scrape_errors_total 1
# HELP plugindrift_upstreams_failing Tracked upstreams whose last resolution failed.
# TYPE plugindrift_upstreams_failing gauge
plugindrift_upstreams_failing 0
# HELP plugindrift_events_dead Events dead for the subscriber (see the admin API's dead events).
# TYPE plugindrift_events_dead gauge
plugindrift_events_dead{subscriber="slack"} 0
`), "plugindrift_metrics_scrape_errors_total", "plugindrift_upstreams_failing", "plugindrift_events_dead"))
}
