package adminhttp_test

import (
	"context"
	"errors"
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

// shortClaims takes every claim for ttl, whatever the Updater asks for:
// a claim that runs out before its first renewal, as when renewals cannot
// reach the store.
type shortClaims struct {
	storage.Store
	ttl time.Duration
}

func (s shortClaims) ClaimUpdate(ctx context.Context, p storage.ClaimUpdateParams) (tracking.Update, error) {
	p.TTL = s.ttl
	return s.Store.ClaimUpdate(ctx, p)
}

// TestApplyWhoseClaimWasLost: another caller took the entry over while this
// request's install ran (its claim ran out by the store's clock before the
// first renewal, 1 s in). The answer is a 409 that says so, not a 500 and
// not an install failure that claims to have been recorded.
func TestApplyWhoseClaimWasLost(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 1)
	e.installer.started = started
	e.installer.block = make(chan struct{}) // returns only when its context ends
	up, err := drift.NewUpdater(shortClaims{Store: e.store, ttl: 200 * time.Millisecond}, e.installer, nil, &drift.UpdaterConfig{Now: e.clock.Now, ApplyTimeout: 3 * time.Second})
	require.NoError(t, err)
	e.handler, err = adminhttp.NewHandler(adminhttp.Config{Updater: up, Store: e.store, Authorize: bearerAuthorize, Now: e.clock.Now})
	require.NoError(t, err)

	stolen := make(chan error, 1)
	go func() {
		<-started
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, err := e.store.ClaimUpdate(t.Context(), storage.ClaimUpdateParams{ID: e.alpha.ID, Token: "thief", TTL: time.Minute})
			if !errors.Is(err, tracking.ErrBusy) || time.Now().After(deadline) {
				stolen <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	w := e.do(req{method: http.MethodPost, path: path("/plugin-updates/%d/apply", e.alpha.ID)})
	require.NoError(t, <-stolen)
	requireError(t, w, http.StatusConflict, "claim_lost")
	got := e.get(e.alpha.ID)
	assert.Equal(t, tracking.StatusApplying, got.Status, "the thief's claim stands")
	assert.Zero(t, got.Attempts, "nothing of the lost install was recorded")
}
