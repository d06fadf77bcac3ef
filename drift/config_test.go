package drift_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestNewUpdaterRefusesNonsense(t *testing.T) {
	store := memstore.New()
	inst := drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil })
	for name, tc := range map[string]struct {
		store     *memstore.Store
		installer drift.Installer
		cfg       *drift.UpdaterConfig
	}{
		"no store":             {nil, inst, nil},
		"no installer":         {store, nil, nil},
		"negative timeout":     {store, inst, &drift.UpdaterConfig{ApplyTimeout: -time.Second}},
		"timeout over a day":   {store, inst, &drift.UpdaterConfig{ApplyTimeout: storage.MaxClaimTTL + time.Second}},
		"negative min age":     {store, inst, &drift.UpdaterConfig{MinAge: -time.Second, AutoApply: drift.PatchOnly}},
		"min age without rule": {store, inst, &drift.UpdaterConfig{MinAge: time.Hour}},
	} {
		t.Run(name, func(t *testing.T) {
			var s *memstore.Store = tc.store
			var up *drift.Updater
			var err error
			if s == nil {
				up, err = drift.NewUpdater(nil, tc.installer, nil, tc.cfg)
			} else {
				up, err = drift.NewUpdater(s, tc.installer, nil, tc.cfg)
			}
			assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.Nil(t, up)
		})
	}
	up, err := drift.NewUpdater(store, inst, nil, nil)
	assert.NoError(t, err)
	n, err := up.AutoApply(t.Context())
	assert.NoError(t, err)
	assert.Zero(t, n, "without a rule AutoApply applies nothing")
}

// TestStartAgainSurvivesTheFirstContext: the context of an earlier Start
// ending must not stop a schedule a later Start began.
func TestStartAgainSurvivesTheFirstContext(t *testing.T) {
	sw, err := drift.NewSweeper(memstore.New(), newFakeResolver(), &drift.SweeperConfig{Schedule: "@hourly"})
	if !assert.NoError(t, err) {
		return
	}
	first, cancelFirst := context.WithCancel(t.Context())
	assert.NoError(t, sw.Start(first))
	sw.Stop()
	assert.NoError(t, sw.Start(t.Context()))
	t.Cleanup(sw.Stop)
	cancelFirst()
	// Before the fix the first context's watcher stopped the second
	// schedule, so Start succeeded again.
	assert.Never(t, func() bool { return sw.Start(t.Context()) == nil }, 300*time.Millisecond, 10*time.Millisecond,
		"the second schedule was stopped by the first Start's context")
}

// TestHostAndUpstreamTextIsRedacted: an installer's, a restarter's or a
// resolver's error carrying a credential is masked before it reaches the
// store, the report or the log.
func TestHostAndUpstreamTextIsRedacted(t *testing.T) {
	const secret = "hunter22hunter22"
	leaky := errors.New("git fetch https://bob:" + secret + "@git.example.com/p.git: exit 128")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	s := memstore.New()
	c := newClock()
	u := queueOne(t, s, c, "ws")

	up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return leaky }),
		drift.RestarterFunc(func(context.Context, string) error { return leaky }), &drift.UpdaterConfig{Now: c.Now, Logger: log})
	_, err := up.Apply(t.Context(), u.ID, "op")
	assert.ErrorIs(t, err, drift.ErrInstallFailed)
	assert.NotContains(t, err.Error(), secret)
	got, gerr := s.GetUpdate(t.Context(), u.ID)
	assert.NoError(t, gerr)
	assert.Contains(t, got.LastError, "***@git.example.com")
	assert.NotContains(t, got.LastError, secret)

	up = newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }),
		drift.RestarterFunc(func(context.Context, string) error { return leaky }), &drift.UpdaterConfig{Now: c.Now, Logger: log})
	_, err = up.Apply(t.Context(), u.ID, "op")
	assert.ErrorIs(t, err, drift.ErrRestartFailed)
	got, _ = s.GetUpdate(t.Context(), u.ID)
	assert.NotContains(t, got.RestartError, secret)
	assert.Contains(t, got.RestartError, "***@git.example.com")

	res := newFakeResolver()
	res.fail(srcA, "tag:latest", leaky)
	rep, err := drift.NewSweeper(s, res, &drift.SweeperConfig{Now: c.Now, Logger: log})
	assert.NoError(t, err)
	report, err := rep.RunOnce(t.Context())
	assert.NoError(t, err)
	if assert.Len(t, report.Errors, 1) {
		assert.NotContains(t, report.Errors[0].Error, secret)
	}
	row, err := s.GetUpstream(t.Context(), key(srcA, "tag:latest"))
	assert.NoError(t, err)
	assert.NotContains(t, row.LastError, secret)
	assert.NotContains(t, logs.String(), secret)
}
