package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// testRestore: a dismissed entry whose change is still current goes back
// to pending, once; one whose install or upstream moved on stays
// dismissed.
func testRestore(t *testing.T, e *env) {
	u := e.queued("ws")
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "carol", Reason: "later", At: t0.Add(time.Minute)})
	require.NoError(t, err)

	at := t0.Add(time.Hour)
	got, err := e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: u.ID, At: at})
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusPending, got.Status)
	assert.True(t, got.DecidedAt.IsZero())
	assert.Empty(t, got.DecidedBy)
	assert.Empty(t, got.Reason)
	assert.Equal(t, at, got.LastSeenAt)
	assert.Equal(t, u.DetectedAt, got.DetectedAt)
	assert.Equal(t, got, e.get(u.ID))

	// Idempotent on pending.
	again, err := e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: u.ID, At: at.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, got, again)

	// It is the install's open entry: a sweep touches it, queues nothing.
	key := e.key(srcA, "branch:main")
	res := e.reconcile(key, sha(2), "", at.Add(time.Minute))
	assert.Equal(t, 0, res.Queued)
	open := e.open("ws", "p")
	require.Len(t, open, 1)
	assert.Equal(t, u.ID, open[0].ID)

	// Restored entries can be applied.
	_, err = e.claim(u.ID, time.Minute)
	require.NoError(t, err)
}

func testRestoreNotCurrent(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	dismiss := func(id int64) {
		t.Helper()
		_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: id, Actor: "carol", At: t0})
		require.NoError(t, err)
	}
	restore := func(id int64) {
		t.Helper()
		before := e.get(id)
		got, err := e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: id, At: t0.Add(time.Hour)})
		require.ErrorIs(t, err, tracking.ErrConflict)
		assert.Equal(t, before, got, "the entry is returned as it is")
		assert.Equal(t, before, e.get(id), "nothing changed")
	}

	// Upstream moved on: a newer entry was queued.
	up := e.queued("ws-up")
	dismiss(up.ID)
	e.reconcile(key, sha(3), "", t0.Add(time.Minute))
	restore(up.ID)
	require.Len(t, e.open("ws-up", "p"), 1)
	assert.Equal(t, sha(3), e.open("ws-up", "p")[0].ToSHA)

	// The install moved: the host reinstalled another commit.
	in := e.queued("ws-in")
	dismiss(in.ID)
	e.install("ws-in", "p", key, sha(7), "", t0.Add(time.Minute))
	restore(in.ID)

	// Uninstalled.
	gone := e.queued("ws-gone")
	dismiss(gone.ID)
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-gone", "p", t0))
	restore(gone.ID)

	// Not dismissed: applying, applied, superseded.
	a := e.queued("ws-a")
	_, err := e.claim(a.ID, time.Minute)
	require.NoError(t, err)
	restore(a.ID)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: a.ID, Token: e.token(a.ID), Actor: "x", At: t0})
	require.NoError(t, err)
	restore(a.ID)

	// Missing, and a bad id.
	_, err = e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: 1 << 40, At: t0})
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	_, err = e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: 0, At: t0})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
}
