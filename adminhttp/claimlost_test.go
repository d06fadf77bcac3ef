package adminhttp_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestApplyWhoseClaimWasLost: another caller took the entry over while this
// request's install ran. The answer is a 409 that says so, not a 500 and
// not an install failure that claims to have been recorded.
func TestApplyWhoseClaimWasLost(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	e.installer.started = started
	e.installer.block = make(chan struct{}) // returns only when its context ends
	up, err := drift.NewUpdater(e.store, e.installer, nil, &drift.UpdaterConfig{Now: e.clock.Now, ApplyTimeout: 300 * time.Millisecond})
	require.NoError(t, err)
	e.handler, err = adminhttp.NewHandler(adminhttp.Config{Updater: up, Store: e.store, Authorize: bearerAuthorize, Now: e.clock.Now})
	require.NoError(t, err)

	stolen := make(chan error, 1)
	go func() {
		<-started
		future := e.clock.Now().Add(time.Hour) // a caller whose clock runs far ahead
		_, err := e.store.ClaimUpdate(t.Context(), storage.ClaimUpdateParams{ID: e.alpha.ID, Token: "thief", Now: future, Until: future.Add(time.Minute)})
		stolen <- err
	}()
	w := e.do(req{method: http.MethodPost, path: path("/plugin-updates/%d/apply", e.alpha.ID)})
	require.NoError(t, <-stolen)
	requireError(t, w, http.StatusConflict, "claim_lost")
	got := e.get(e.alpha.ID)
	assert.Equal(t, tracking.StatusApplying, got.Status, "the thief's claim stands")
	assert.Zero(t, got.Attempts, "nothing of the lost install was recorded")
}
