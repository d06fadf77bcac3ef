package storetest

import (
	"errors"
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

// rollback rolls ws/p back to commit (version) under a new claim and
// completes it, as the Updater does; it returns the hold.
func (e *env) rollback(ws, p, commit, version string, at time.Time) tracking.Hold {
	e.t.Helper()
	u, h, err := e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{
		WorkspaceID: ws, PluginName: p, ToSHA: commit, ToVersion: version,
		Actor: "alice", Reason: "bad release", Token: "rb-" + ws + p, TTL: time.Hour, At: at,
	})
	require.NoError(e.t, err)
	require.Equal(e.t, tracking.StatusApplying, u.Status)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: "rb-" + ws + p, Actor: "alice", At: at})
	require.NoError(e.t, err)
	return h
}

func testHoldStopsExactlyWhatItShould(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(2), "v1.1.0", t0)
	h := e.rollback("ws", "p", sha(1), "v1.0.0", t0.Add(time.Minute))
	assert.Equal(t, tracking.Hold{ID: h.ID, WorkspaceID: "ws", PluginName: "p", SHA: sha(2), Version: "v1.1.0",
		CreatedAt: t0.Add(time.Minute), CreatedBy: "alice", Reason: "bad release"}, h)
	in, err := e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA, "rolled back")

	at := t0.Add(time.Hour)
	assert.Zero(t, e.reconcile(key, sha(2), "v1.1.0", at).Queued, "the rolled-back commit is not queued again")
	assert.Zero(t, e.reconcile(key, sha(9), "v1.1.0", at).Queued, "the same version re-tagged is not newer: held")
	assert.Zero(t, e.reconcile(key, sha(8), "v1.1.0-rc.2", at).Queued, "a prerelease of it is older: held")
	assert.Zero(t, e.reconcile(key, sha(7), "v1.0.5", at).Queued, "an older version: held")
	assert.Empty(t, e.open("ws", "p"))
	res := e.reconcile(key, sha(3), "v1.2.0", at)
	assert.Equal(t, 1, res.Queued, "a newer upstream is queued")
	open := e.open("ws", "p")
	require.Len(t, open, 1)
	assert.Equal(t, sha(1), open[0].FromSHA)
	assert.Equal(t, sha(3), open[0].ToSHA)

	// A branch's hold names its commit only.
	bkey := e.key(srcB, "branch:main")
	e.install("ws", "b", bkey, sha(5), "", t0)
	e.rollback("ws", "b", sha(4), "", t0)
	assert.Zero(t, e.reconcile(bkey, sha(5), "", at).Queued)
	assert.Equal(t, 1, e.reconcile(bkey, sha(6), "", at).Queued)
}

func testReleaseHoldRequeues(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(2), "", t0)
	h := e.rollback("ws", "p", sha(1), "", t0)
	assert.Zero(t, e.reconcile(key, sha(2), "", t0).Queued)

	active, err := e.store.ListHolds(e.ctx, storage.ListHoldsParams{WorkspaceID: "ws", Active: true, Limit: 10})
	require.NoError(t, err)
	require.Len(t, active, 1)
	assert.Equal(t, h, active[0])

	released, err := e.store.ReleaseHold(e.ctx, storage.ReleaseHoldParams{ID: h.ID, Actor: "bob", At: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.False(t, released.Active())
	assert.Equal(t, "bob", released.ReleasedBy)
	again, err := e.store.ReleaseHold(e.ctx, storage.ReleaseHoldParams{ID: h.ID, Actor: "carol", At: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, released, again, "releasing twice changes nothing")
	_, err = e.store.ReleaseHold(e.ctx, storage.ReleaseHoldParams{ID: h.ID + 100, Actor: "bob", At: t0})
	assert.ErrorIs(t, err, tracking.ErrNotFound)

	active, err = e.store.ListHolds(e.ctx, storage.ListHoldsParams{Active: true, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, active)
	all, err := e.store.ListHolds(e.ctx, storage.ListHoldsParams{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []tracking.Hold{released}, all)

	assert.Equal(t, 1, e.reconcile(key, sha(2), "", t0.Add(3*time.Hour)).Queued, "released: the next check queues it again")
}

func testQueueRollbackRules(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	base := storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), Actor: "alice", Token: "tok", TTL: shortTTL, At: t0}
	_, _, err := e.store.QueueRollback(e.ctx, base)
	assert.ErrorIs(t, err, tracking.ErrNotFound)

	e.install("ws", "p", key, sha(1), "", t0)
	_, _, err = e.store.QueueRollback(e.ctx, base)
	assert.ErrorIs(t, err, tracking.ErrConflict, "already at that commit")

	e.install("ws", "p", key, sha(2), "", t0)
	e.reconcile(key, sha(3), "", t0)
	pendingEntry := e.only("ws", "p")
	for name, p := range map[string]storage.QueueRollbackParams{
		"bad sha":    {WorkspaceID: "ws", PluginName: "p", ToSHA: "abc", Token: "tok", TTL: time.Minute, At: t0},
		"no token":   {WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), TTL: time.Minute, At: t0},
		"no TTL":     {WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), Token: "tok", At: t0},
		"bad ws":     {WorkspaceID: "", PluginName: "p", ToSHA: sha(1), Token: "tok", TTL: time.Minute, At: t0},
		"bad tag":    {WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), ToVersion: "-x", Token: "tok", TTL: time.Minute, At: t0},
		"bad plugin": {WorkspaceID: "ws", PluginName: "../p", ToSHA: sha(1), Token: "tok", TTL: time.Minute, At: t0},
	} {
		_, _, err := e.store.QueueRollback(e.ctx, p)
		assert.Error(t, err, name)
	}
	assert.Equal(t, pendingEntry, e.get(pendingEntry.ID), "refused params change nothing")

	before := time.Now()
	u, h, err := e.store.QueueRollback(e.ctx, base)
	require.NoError(t, err)
	assert.Equal(t, tracking.KindRollback, u.Kind)
	assert.Equal(t, sha(2), u.FromSHA)
	assert.Equal(t, sha(1), u.ToSHA)
	e.assertClaimedFor(u, before, shortTTL)
	old := e.get(pendingEntry.ID)
	assert.Equal(t, tracking.StatusSuperseded, old.Status)
	assert.Equal(t, tracking.ReasonRolledBack, old.Reason)

	// While it is applied, another rollback is refused.
	_, _, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(4), Token: "tok2", TTL: time.Hour, At: t0.Add(time.Minute)})
	assert.ErrorIs(t, err, tracking.ErrBusy)
	// The claim fences like any other.
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: "someone-else", Actor: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)

	// Its claim expired (by the store's clock) and nobody took it: a new
	// rollback of the same installed commit keeps the one hold.
	var u2 tracking.Update
	var h2 tracking.Hold
	e.eventually("the rollback's claim is still live", func() bool {
		u2, h2, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(4), Token: "tok3", TTL: time.Hour, At: t0.Add(2 * time.Hour)})
		if errors.Is(err, tracking.ErrBusy) {
			return false
		}
		require.NoError(t, err)
		return true
	})
	assert.Equal(t, h.ID, h2.ID)
	assert.Equal(t, tracking.StatusSuperseded, e.get(u.ID).Status)
	assert.NotEqual(t, u.ID, u2.ID)
}

func testInstallRing(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	in, err := e.store.UpsertInstall(e.ctx, tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: key.Source, Ref: key.Ref, InstalledSHA: sha(1), UpdatedAt: t0, Ring: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, in.Ring, "a new row takes the ring given")
	in = e.install("ws", "p", key, sha(2), "", t0.Add(time.Minute))
	assert.Equal(t, 2, in.Ring, "a reinstall keeps the ring")

	in, err = e.store.SetInstallRing(e.ctx, "ws", "p", 1)
	require.NoError(t, err)
	assert.Equal(t, 1, in.Ring)
	got, err := e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, in, got)
	list, err := e.store.ListInstalls(e.ctx, storage.ListInstallsParams{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, 1, list[0].Ring)

	for _, ring := range []int{-1, tracking.MaxRing + 1} {
		_, err = e.store.SetInstallRing(e.ctx, "ws", "p", ring)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, ring)
	}
	_, err = e.store.UpsertInstall(e.ctx, tracking.Install{WorkspaceID: "ws", PluginName: "q", Source: key.Source, Ref: key.Ref, InstalledSHA: sha(1), UpdatedAt: t0, Ring: -1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	_, err = e.store.SetInstallRing(e.ctx, "ws", "nope", 1)
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	got, err = e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, 1, got.Ring, "refused calls change nothing")
}

func testRingEvidence(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws-canary", "p", key, sha(1), "", t0)
	e.install("ws-late", "p", key, sha(1), "", t0)
	_, err := e.store.SetInstallRing(e.ctx, "ws-late", "p", 1)
	require.NoError(t, err)
	evidence := func(commit string, ring int) storage.RingEvidence {
		t.Helper()
		ev, err := e.store.RingEvidence(e.ctx, storage.RingEvidenceParams{SHA: commit, Ring: ring})
		require.NoError(t, err)
		return ev
	}
	e.reconcile(key, sha(2), "", t0)
	assert.Equal(t, storage.RingEvidence{}, evidence(sha(2), 0), "queued is not applied")

	canary := e.only("ws-canary", "p")
	_, err = e.claim(canary.ID, time.Hour)
	require.NoError(t, err)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: canary.ID, Token: e.token(canary.ID), Actor: "a", At: t0.Add(time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, storage.RingEvidence{FirstApplied: t0.Add(time.Minute)}, evidence(sha(2), 0))
	assert.Equal(t, storage.RingEvidence{}, evidence(sha(2), 1), "only the ring asked about")
	assert.Equal(t, storage.RingEvidence{}, evidence(sha(3), 0), "only the commit asked about")

	_, err = e.store.SetRestartError(e.ctx, canary.ID, "workspace did not come back")
	require.NoError(t, err)
	assert.Equal(t, 1, evidence(sha(2), 0).FailedRestarts)

	e.rollback("ws-canary", "p", sha(1), "", t0.Add(time.Hour))
	ev := evidence(sha(2), 0)
	assert.Equal(t, 1, ev.Rollbacks)
	assert.Equal(t, t0.Add(time.Minute), ev.FirstApplied, "the rollback itself is no application of the commit")

	_, err = e.store.RingEvidence(e.ctx, storage.RingEvidenceParams{SHA: "x", Ring: 0})
	assert.Error(t, err)
	_, err = e.store.RingEvidence(e.ctx, storage.RingEvidenceParams{SHA: sha(2), Ring: -1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
}

func testRestoreRespectsHolds(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	old := e.only("ws", "p")
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: old.ID, Actor: "carol", At: t0})
	require.NoError(t, err)
	// Installed by hand, then rolled back: sha(2) is held.
	e.install("ws", "p", key, sha(2), "", t0.Add(time.Minute))
	h := e.rollback("ws", "p", sha(1), "", t0.Add(2*time.Minute))
	assert.Zero(t, e.reconcile(key, sha(2), "", t0.Add(3*time.Minute)).Queued, "held")

	// The dismissed sha(1)→sha(2) is current again, but the hold keeps it.
	before := e.get(old.ID)
	got, err := e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: old.ID, At: t0.Add(4 * time.Minute)})
	require.ErrorIs(t, err, tracking.ErrConflict)
	assert.Equal(t, before, got)
	assert.Equal(t, before, e.get(old.ID), "nothing changed")
	assert.Empty(t, e.open("ws", "p"))

	_, err = e.store.ReleaseHold(e.ctx, storage.ReleaseHoldParams{ID: h.ID, Actor: "alice", At: t0.Add(5 * time.Minute)})
	require.NoError(t, err)
	got, err = e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: old.ID, At: t0.Add(6 * time.Minute)})
	require.NoError(t, err, "released: it may come back")
	assert.Equal(t, tracking.StatusPending, got.Status)
}
