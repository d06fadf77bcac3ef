package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Cases of integrity and rollout: force-push alarms, holds and rings.

func testReconcileRewritten(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "gone", key, sha(1), "", t0)  // force-pushed away from
	e.install("ws", "older", key, sha(2), "", t0) // still in the new history
	e.install("ws", "also-gone", key, sha(1), "", t0)
	res, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: sha(3), Now: t0, Rewritten: []string{sha(1)}})
	require.NoError(t, err)
	assert.Equal(t, storage.ReconcileResult{Installs: 3, Queued: 3}, res)
	assert.Equal(t, tracking.KindHistoryRewritten, e.only("ws", "gone").Kind)
	assert.Equal(t, tracking.KindHistoryRewritten, e.only("ws", "also-gone").Kind)
	assert.Equal(t, tracking.KindNewCommit, e.only("ws", "older").Kind)

	// The same tip again without the list keeps the alarm: the entry is
	// only touched.
	e.reconcile(key, sha(3), "", t0.Add(time.Minute))
	assert.Equal(t, tracking.KindHistoryRewritten, e.only("ws", "gone").Kind)
}

func testReconcileRejectsBadRewritten(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	tooMany := make([]string, storage.MaxLimit+1)
	for i := range tooMany {
		tooMany[i] = sha(i + 10)
	}
	for name, rewritten := range map[string][]string{
		"short":    {"abc"},
		"sql":      {"'; DELETE FROM plugindrift_updates; --"},
		"comma":    {sha(1) + "," + sha(2)},
		"too many": tooMany,
	} {
		_, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: sha(2), Now: t0, Rewritten: rewritten})
		assert.Error(t, err, name)
	}
	assert.Empty(t, e.updates(storage.ListUpdatesParams{}), "a rejected reconcile changes nothing")
	assert.Empty(t, e.upstream(key).LastSHA)
}

func testInstalledSHAs(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	shas, err := e.store.InstalledSHAs(e.ctx, key)
	require.NoError(t, err)
	assert.Empty(t, shas, "unknown upstream")

	e.install("ws-1", "p", key, sha(3), "", t0)
	e.install("ws-2", "p", key, sha(1), "", t0)
	e.install("ws-3", "p", key, sha(3), "", t0)
	e.install("ws-4", "p", e.key(srcA, "branch:dev"), sha(7), "", t0)
	e.install("ws-5", "p", e.key(srcB, "branch:main"), sha(8), "", t0)
	shas, err = e.store.InstalledSHAs(e.ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []string{sha(1), sha(3)}, shas, "distinct, ascending, only this upstream's")

	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-2", "p", t0))
	shas, err = e.store.InstalledSHAs(e.ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []string{sha(3)}, shas)
}
