package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Apply claims expire by the store's clock, as leases do (see Clock under
// storage.Store.ClaimUpdate). The cases that need a claim to expire wait
// for real time to pass, in bounded polling, as
// testLeaseExpiresByStoreClock does: the store's clock is the point.

// shortTTL is a claim short enough to wait out, and long enough that the
// next call or two of a test still find it live on a loaded machine.
const shortTTL = time.Second

// clockSlack is how far the store's clock may be from the test's when a
// case checks an expiry: the harnesses here read the same host's clock,
// but SQLite's has millisecond resolution and a remote server's may be
// off a little.
const clockSlack = time.Second

// eventually polls cond until it holds, failing the test after 20 seconds.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		require.True(e.t, time.Now().Before(deadline), "%s after 20s", what)
		time.Sleep(10 * time.Millisecond)
	}
}

// claimOnceExpired claims id for ttl as soon as the claim on it expired
// by the store's clock.
func (e *env) claimOnceExpired(id int64, ttl time.Duration) tracking.Update {
	e.t.Helper()
	var got tracking.Update
	e.eventually(fmt.Sprintf("the claim on update %d is still live", id), func() bool {
		u, err := e.claim(id, ttl)
		if errors.Is(err, tracking.ErrBusy) {
			return false
		}
		require.NoError(e.t, err)
		got = u
		return true
	})
	return got
}

// assertClaimedFor checks that u is claimed until the store's now + ttl,
// for a store call made after before.
func (e *env) assertClaimedFor(u tracking.Update, before time.Time, ttl time.Duration) {
	e.t.Helper()
	assert.WithinRange(e.t, u.ClaimedUntil, before.Add(ttl-clockSlack), time.Now().Add(ttl+clockSlack),
		"update %d: claimed until the store's now + %s", u.ID, ttl)
}

// testClaimIgnoresCallerClock: whatever time a caller's clock tells, a
// live claim is not taken over, superseded or rolled back over: the
// times a caller passes (Reconcile's Now, QueueRollback's At) date what
// is written and judge no claim. A replica whose clock runs hours ahead
// must not start a second install beside a live one.
func testClaimIgnoresCallerClock(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	u := e.only("ws", "p")
	before := time.Now()
	claimed, err := e.claim(u.ID, 10*time.Minute)
	require.NoError(t, err)
	e.assertClaimedFor(claimed, before, 10*time.Minute)

	ahead := time.Now().Add(2 * time.Hour)
	_, err = e.claim(u.ID, time.Minute)
	assert.ErrorIs(t, err, tracking.ErrBusy, "a second claim within the TTL")
	res := e.reconcile(key, sha(3), "", ahead)
	assert.Equal(t, storage.ReconcileResult{Installs: 1}, res, "a sweep hours ahead leaves the live claim alone")
	_, _, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(4),
		Actor: "eve", Token: "rollback", TTL: time.Minute, At: ahead})
	assert.ErrorIs(t, err, tracking.ErrBusy, "a rollback hours ahead")
	assert.Equal(t, claimed, e.get(u.ID), "nothing took the claim over")
	assert.Len(t, e.open("ws", "p"), 1)

	// The holder's writes still land.
	done, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "a", At: ahead})
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, done.Status)
}

// testClaimTTLChecked: a claim must last a while, and not for days.
func testClaimTTLChecked(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(2), "", t0)
	e.reconcile(key, sha(3), "", t0)
	u := e.only("ws", "p")
	for _, ttl := range []time.Duration{0, -time.Second, storage.MaxClaimTTL + time.Microsecond} {
		_, err := e.store.ClaimUpdate(e.ctx, storage.ClaimUpdateParams{ID: u.ID, Token: "tok", TTL: ttl})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "claim for %s", ttl)
		_, _, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), Token: "tok", TTL: ttl, At: t0})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "rollback for %s", ttl)
	}
	assert.Equal(t, u, e.get(u.ID), "a refused claim changes nothing")

	claimed, err := e.claim(u.ID, storage.MaxClaimTTL)
	require.NoError(t, err, "MaxClaimTTL itself is allowed")
	for _, ttl := range []time.Duration{0, storage.MaxClaimTTL + time.Microsecond} {
		_, err = e.store.ExtendClaim(e.ctx, storage.ExtendClaimParams{ID: u.ID, Token: e.token(u.ID), TTL: ttl})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "extend for %s", ttl)
	}
	assert.Equal(t, claimed, e.get(u.ID), "a refused renewal changes nothing")
}
