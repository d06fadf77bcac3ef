package drift_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/drift"
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
