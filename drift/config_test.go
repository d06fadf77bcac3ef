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
