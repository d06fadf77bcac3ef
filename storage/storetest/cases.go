package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

type testCase struct {
	name string
	run  func(t *testing.T, e *env)
}

var cases = []testCase{
	{"InstallRoundTrip", testInstallRoundTrip},
	{"InstalledAtKeptWhenSHAUnchanged", testInstalledAt},
	{"InstallNotFound", testInstallNotFound},
	{"ListInstallsPagesAndFilters", testListInstalls},
	{"ListUpstreamsDistinctTrackedOnly", testListUpstreams},
	{"ListUpstreamsPages", testListUpstreamsPages},
	{"ReconcileQueuesDrift", testReconcileQueues},
	{"ReconcileKindFollowsRef", testReconcileKinds},
	{"ReconcileSameUpstreamTouchesOnly", testReconcileTouch},
	{"ReconcileUpToDateSupersedes", testReconcileUpToDate},
	{"ReconcileNewerUpstreamSupersedes", testReconcileNewer},
	{"ReconcileDismissedStaysDismissed", testReconcileDismissed},
	{"ReconcileTouchesOnlyItsUpstream", testReconcileScoped},
	{"ReconcileLeavesLiveClaimAlone", testReconcileLiveClaim},
	{"ReconcileRecordsUpstream", testReconcileUpstreamRow},
	{"ReconcileRejectsBadParams", testReconcileBadParams},
	{"UpstreamFailureCounts", testUpstreamFailure},
	{"UninstallSupersedes", testUninstall},
	{"ReinstallSupersedes", testReinstall},
	{"ClaimLifecycle", testClaim},
	{"ClaimExpiredIsRetaken", testClaimExpired},
	{"ClaimRace", testClaimRace},
	{"CompleteApply", testCompleteApply},
	{"ReleaseClaim", testReleaseClaim},
	{"RestartError", testRestartError},
	{"Dismiss", testDismiss},
	{"UpdateNotFound", testUpdateNotFound},
	{"ClaimFenced", testClaimFenced},
	{"ClaimNeedsToken", testClaimNeedsToken},
	{"ClaimIgnoresCallerClock", testClaimIgnoresCallerClock},
	{"ClaimTTLChecked", testClaimTTLChecked},
	{"Leases", testLeases},
	{"LeaseExpiresByStoreClock", testLeaseExpiresByStoreClock},
	{"LeaseRace", testLeaseRace},
	{"ListUpdatesPagination", testListUpdatesPagination},
	{"ListUpdatesFilters", testListUpdatesFilters},
	{"CountOpenUpdates", testCountOpenUpdates},
	{"CountFailingUpstreams", testCountFailingUpstreams},
	{"ListRejectsBadParams", testListBadParams},
	{"UniqueOpenEntryUnderRace", testReconcileRace},
	{"TextStoredLiterally", testLiteral},
	{"CancelledContext", testCancelled},
	{"InvalidInputChangesNothing", testInvalidInput},
	{"RestoreDismissed", testRestore},
	{"RestoreOnlyWhileCurrent", testRestoreNotCurrent},
	{"ListTriageFilters", testListTriageFilters},
	{"ListByDecision", testListByDecision},
	// Integrity and rollout (integrity.go).
	{"ReconcileRewrittenKind", testReconcileRewritten},
	{"ReconcileRejectsBadRewritten", testReconcileRejectsBadRewritten},
	{"InstalledSHAs", testInstalledSHAs},
	{"HoldStopsExactlyWhatItShould", testHoldStopsExactlyWhatItShould},
	{"RestoreRespectsHolds", testRestoreRespectsHolds},
	{"ReleaseHoldRequeues", testReleaseHoldRequeues},
	{"QueueRollbackRules", testQueueRollbackRules},
	{"InstallRing", testInstallRing},
	{"RingEvidence", testRingEvidence},
}

func testInstallRoundTrip(t *testing.T, e *env) {
	key := e.key(srcA+"#tag:v1.0.0", "tag:latest")
	got := e.install("ws-1", "alpha", key, sha(1), "v1.0.0", t0)
	want := tracking.Install{
		WorkspaceID: "ws-1", PluginName: "alpha", Source: key.Source, Ref: key.Ref,
		InstalledSHA: sha(1), InstalledVersion: "v1.0.0", InstalledAt: t0, UpdatedAt: t0,
	}
	assert.Equal(t, want, got)
	read, err := e.store.GetInstall(e.ctx, "ws-1", "alpha")
	require.NoError(t, err)
	assert.Equal(t, want, read)

	// Replacing source and ref keeps one row.
	key2 := e.key(srcB, "branch:main")
	e.install("ws-1", "alpha", key2, sha(1), "", t0.Add(time.Second))
	read, err = e.store.GetInstall(e.ctx, "ws-1", "alpha")
	require.NoError(t, err)
	assert.Equal(t, key2.Source, read.Source)
	assert.Equal(t, key2.Ref, read.Ref)
	assert.Empty(t, read.InstalledVersion)
	all, err := e.store.ListInstalls(e.ctx, storage.ListInstallsParams{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, all, 1)

	// Local installs without a commit are valid.
	local := tracking.UpstreamKey{Source: e.source("local://beta"), Ref: e.ref("none")}
	in := e.install("ws-1", "beta", local, "", "", t0)
	assert.False(t, in.Tracked())
	read, err = e.store.GetInstall(e.ctx, "ws-1", "beta")
	require.NoError(t, err)
	assert.Equal(t, in, read)
}

func testInstalledAt(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	in := e.install("ws", "p", key, sha(1), "", t0.Add(time.Hour))
	assert.Equal(t, t0, in.InstalledAt, "same commit: installed_at kept")
	assert.Equal(t, t0.Add(time.Hour), in.UpdatedAt)
	in = e.install("ws", "p", key, sha(2), "", t0.Add(2*time.Hour))
	assert.Equal(t, t0.Add(2*time.Hour), in.InstalledAt, "new commit: installed_at moves")
}

func testInstallNotFound(t *testing.T, e *env) {
	_, err := e.store.GetInstall(e.ctx, "ws", "nope")
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	err = e.store.DeleteInstall(e.ctx, "ws", "nope", t0)
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	_, err = e.store.GetUpstream(e.ctx, e.key(srcA, "branch:main"))
	assert.ErrorIs(t, err, tracking.ErrNotFound)
}

func testListInstalls(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	for _, ws := range []string{"w2", "w1", "w3"} {
		for _, p := range []string{"b", "a"} {
			e.install(ws, p, key, sha(1), "", t0)
		}
	}
	var got []string
	p := storage.ListInstallsParams{Limit: 4}
	for {
		page, err := e.store.ListInstalls(e.ctx, p)
		require.NoError(t, err)
		for _, in := range page {
			got = append(got, in.WorkspaceID+"/"+in.PluginName)
		}
		if len(page) < p.Limit {
			break
		}
		last := page[len(page)-1]
		p.AfterWorkspaceID, p.AfterPluginName = last.WorkspaceID, last.PluginName
	}
	assert.Equal(t, []string{"w1/a", "w1/b", "w2/a", "w2/b", "w3/a", "w3/b"}, got)

	page, err := e.store.ListInstalls(e.ctx, storage.ListInstallsParams{WorkspaceID: "w2", Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, "w2", page[0].WorkspaceID)
	assert.Equal(t, "a", page[0].PluginName)
}

func testListUpstreams(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	b := e.key(srcB, "tag:latest")
	e.install("w1", "p", a, sha(1), "", t0)
	e.install("w2", "p", a, sha(2), "", t0)
	e.install("w3", "p", b, sha(1), "", t0)
	// Not tracked: never listed.
	e.install("w4", "p", e.key(srcA, "none"), sha(1), "", t0)
	e.install("w5", "p", e.key(srcA, "sha:"+sha(1)), sha(1), "", t0)
	e.install("w6", "p", tracking.UpstreamKey{Source: e.source("local://p"), Ref: e.ref("")}, "", "", t0)

	ups, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	assert.ElementsMatch(t, []tracking.UpstreamKey{a, b}, []tracking.UpstreamKey{ups[0].Key, ups[1].Key})
	assert.Less(t, ups[0].ID, ups[1].ID)

	// When the last install of an upstream goes, the upstream is no longer listed.
	require.NoError(t, e.store.DeleteInstall(e.ctx, "w3", "p", t0))
	ups, err = e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, a, ups[0].Key)
	// Also when it is re-pointed elsewhere.
	e.install("w1", "p", b, sha(1), "", t0)
	e.install("w2", "p", e.key(srcA, "none"), sha(1), "", t0)
	ups, err = e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 100})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	assert.Equal(t, b, ups[0].Key)
}

func testListUpstreamsPages(t *testing.T, e *env) {
	want := map[tracking.UpstreamKey]bool{}
	for i, ref := range []string{"branch:a", "branch:b", "branch:c", "branch:d", "branch:e", "tag:latest", "head"} {
		k := e.key(srcA, ref)
		want[k] = true
		e.install("w", "p"+string(rune('a'+i)), k, sha(1), "", t0)
	}
	got := map[tracking.UpstreamKey]bool{}
	var after int64
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		ups, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{AfterID: after, Limit: 3})
		require.NoError(t, err)
		for _, u := range ups {
			assert.False(t, got[u.Key], "upstream listed twice: %s", u.Key)
			assert.Greater(t, u.ID, after)
			got[u.Key] = true
			after = u.ID
		}
		if len(ups) < 3 {
			break
		}
	}
	assert.Equal(t, want, got)
}

func testReconcileQueues(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(1), "v1.0.0", t0)
	res := e.reconcile(key, sha(2), "v1.1.0", t0.Add(time.Minute))
	assert.Equal(t, storage.ReconcileResult{Installs: 1, Queued: 1}, res)

	u := e.only("ws", "p")
	assert.Positive(t, u.ID)
	assert.Equal(t, tracking.Update{
		ID: u.ID, WorkspaceID: "ws", PluginName: "p", Source: key.Source, Ref: key.Ref,
		FromSHA: sha(1), ToSHA: sha(2), FromVersion: "v1.0.0", ToVersion: "v1.1.0",
		Kind: tracking.KindNewVersion, Status: tracking.StatusPending,
		DetectedAt: t0.Add(time.Minute), LastSeenAt: t0.Add(time.Minute),
	}, u)
	assert.Equal(t, u, e.get(u.ID))
}

func testReconcileKinds(t *testing.T, e *env) {
	for i, c := range []struct {
		ref  string
		kind tracking.UpdateKind
	}{
		{"tag:v1.0.0", tracking.KindTagMoved},
		{"tag:latest", tracking.KindNewVersion},
		{"semver:^1.0", tracking.KindNewVersion},
		{"branch:main", tracking.KindNewCommit},
		{"head", tracking.KindNewCommit},
	} {
		key := e.key(srcA, c.ref)
		p := "p" + string(rune('a'+i))
		e.install("ws", p, key, sha(1), "", t0)
		e.reconcile(key, sha(2), "", t0)
		assert.Equal(t, c.kind, e.only("ws", p).Kind, c.ref)
	}
}

func testReconcileTouch(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	res := e.reconcile(key, sha(2), "", t0.Add(time.Hour))
	assert.Equal(t, storage.ReconcileResult{Installs: 1}, res)
	u := e.only("ws", "p")
	assert.Equal(t, tracking.StatusPending, u.Status)
	assert.Equal(t, t0, u.DetectedAt)
	assert.Equal(t, t0.Add(time.Hour), u.LastSeenAt)
}

func testReconcileUpToDate(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	// An install already at upstream queues nothing.
	e.install("ws", "current", key, sha(2), "", t0)
	e.install("ws", "behind", key, sha(1), "", t0)
	res := e.reconcile(key, sha(2), "", t0)
	assert.Equal(t, storage.ReconcileResult{Installs: 2, Queued: 1}, res)
	assert.Empty(t, e.updates(storage.ListUpdatesParams{WorkspaceID: "ws", PluginName: "current"}))

	// Upstream goes back to the commit "behind" has: its entry is superseded.
	res = e.reconcile(key, sha(1), "", t0.Add(time.Minute))
	assert.Equal(t, 1, res.Superseded)
	u := e.only("ws", "behind")
	assert.Equal(t, tracking.StatusSuperseded, u.Status)
	assert.Equal(t, tracking.ReasonUpToDate, u.Reason)
	assert.Equal(t, t0.Add(time.Minute), u.DecidedAt)
	assert.Empty(t, e.open("ws", "behind"))
}

func testReconcileNewer(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(1), "v1.0.0", t0)
	e.reconcile(key, sha(2), "v1.1.0", t0)
	first := e.only("ws", "p")
	res := e.reconcile(key, sha(3), "v1.2.0", t0.Add(time.Minute))
	assert.Equal(t, storage.ReconcileResult{Installs: 1, Queued: 1, Superseded: 1}, res)

	old := e.get(first.ID)
	assert.Equal(t, tracking.StatusSuperseded, old.Status)
	assert.Equal(t, tracking.ReasonNewerUpstream, old.Reason)
	open := e.open("ws", "p")
	require.Len(t, open, 1)
	assert.Equal(t, sha(1), open[0].FromSHA)
	assert.Equal(t, sha(3), open[0].ToSHA)
	assert.Equal(t, "v1.2.0", open[0].ToVersion)
	assert.Greater(t, open[0].ID, first.ID)
}

func testReconcileDismissed(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "v2", t0)
	u := e.only("ws", "p")
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "alice", Reason: "not now", At: t0})
	require.NoError(t, err)

	// The same version is not queued again.
	res := e.reconcile(key, sha(2), "v2", t0.Add(time.Hour))
	assert.Equal(t, 0, res.Queued)
	assert.Empty(t, e.open("ws", "p"))
	assert.Equal(t, tracking.StatusDismissed, e.get(u.ID).Status)

	// A newer one is, and the dismissed entry stays dismissed.
	res = e.reconcile(key, sha(3), "v3", t0.Add(2*time.Hour))
	assert.Equal(t, 1, res.Queued)
	open := e.open("ws", "p")
	require.Len(t, open, 1)
	assert.Equal(t, sha(3), open[0].ToSHA)
	assert.Equal(t, tracking.StatusDismissed, e.get(u.ID).Status)

	// A dismissal is per (install, from, to): another install still gets it.
	e.install("ws2", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "v2", t0.Add(3*time.Hour))
	open = e.open("ws2", "p")
	require.Len(t, open, 1)
	assert.Equal(t, sha(2), open[0].ToSHA)
}

func testReconcileScoped(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	b := e.key(srcA, "branch:dev")
	e.install("ws", "on-a", a, sha(1), "", t0)
	e.install("ws", "on-b", b, sha(1), "", t0)
	res := e.reconcile(a, sha(2), "", t0)
	assert.Equal(t, 1, res.Installs)
	assert.Len(t, e.open("ws", "on-a"), 1)
	assert.Empty(t, e.open("ws", "on-b"))
}

func testReconcileLiveClaim(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.install("ws", "q", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	u, crashed := e.only("ws", "p"), e.only("ws", "q")
	_, err := e.claim(u.ID, 10*time.Minute)
	require.NoError(t, err)
	_, err = e.claim(crashed.ID, shortTTL)
	require.NoError(t, err)

	// While the claim is live, a newer upstream neither supersedes the entry
	// nor queues a second one, however late the sweep's clock says it is
	// (claims are judged by the store's clock).
	e.reconcile(key, sha(3), "", t0.Add(11*time.Minute))
	got := e.get(u.ID)
	assert.Equal(t, tracking.StatusApplying, got.Status)
	assert.Len(t, e.open("ws", "p"), 1)

	// Once a claim has expired (its holder crashed), the rules apply to
	// its entry, and the live one is still left alone.
	e.eventually("the short claim is still live", func() bool {
		e.reconcile(key, sha(3), "", t0.Add(12*time.Minute))
		return e.get(crashed.ID).Status == tracking.StatusSuperseded
	})
	open := e.open("ws", "q")
	require.Len(t, open, 1)
	assert.Equal(t, sha(3), open[0].ToSHA)
	assert.Equal(t, tracking.StatusPending, open[0].Status)
	assert.Equal(t, got, e.get(u.ID))
	assert.Len(t, e.open("ws", "p"), 1)
}

func testReconcileUpstreamRow(t *testing.T, e *env) {
	key := e.key(srcB, "tag:latest")
	e.install("ws", "p", key, sha(1), "", t0)
	up := e.upstream(key)
	assert.Positive(t, up.ID)
	assert.Equal(t, key, up.Key)
	assert.Empty(t, up.LastSHA)

	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "boom", t0))
	e.reconcile(key, sha(2), "v2.0.0", t0.Add(time.Second))
	up2 := e.upstream(key)
	assert.Equal(t, tracking.Upstream{
		ID: up.ID, Key: key, LastSHA: sha(2), LastVersion: "v2.0.0", Validator: "v-" + sha(2)[:8],
		LastCheckedAt: t0.Add(time.Second),
	}, up2)
}

func testReconcileBadParams(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	for name, p := range map[string]storage.ReconcileParams{
		"short sha":   {Key: key, SHA: "abc", Now: t0},
		"upper sha":   {Key: key, SHA: "ABCDEF0123456789ABCDEF0123456789ABCDEF01", Now: t0},
		"untracked":   {Key: e.key(srcA, "none"), SHA: sha(2), Now: t0},
		"pinned":      {Key: e.key(srcA, "sha:"+sha(1)), SHA: sha(2), Now: t0},
		"local":       {Key: tracking.UpstreamKey{Source: e.source("local://p"), Ref: key.Ref}, SHA: sha(2), Now: t0},
		"sql in sha":  {Key: key, SHA: "'; DELETE FROM plugindrift_updates; --", Now: t0},
		"empty sha":   {Key: key, Now: t0},
		"zero source": {Key: tracking.UpstreamKey{Ref: key.Ref}, SHA: sha(2), Now: t0},
	} {
		_, err := e.store.Reconcile(e.ctx, p)
		assert.Error(t, err, name)
	}
	assert.Empty(t, e.updates(storage.ListUpdatesParams{}), "a rejected reconcile changes nothing")
	assert.Empty(t, e.upstream(key).LastSHA)
}

func testUpstreamFailure(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", t0.Add(time.Minute)))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "refused", t0.Add(2*time.Minute)))
	up := e.upstream(key)
	assert.Equal(t, "refused", up.LastError)
	assert.Equal(t, 2, up.ConsecutiveFailures)
	assert.Equal(t, t0.Add(2*time.Minute), up.LastCheckedAt)
	assert.Equal(t, sha(2), up.LastSHA, "a failure keeps the last good resolution")
	assert.Len(t, e.open("ws", "p"), 1, "a failure does not touch the queue")
	e.reconcile(key, sha(2), "", t0.Add(3*time.Minute))
	up = e.upstream(key)
	assert.Zero(t, up.ConsecutiveFailures)
	assert.Empty(t, up.LastError)
}

func testUninstall(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.install("ws", "q", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	u := e.only("ws", "p")
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws", "p", t0.Add(time.Minute)))
	got := e.get(u.ID)
	assert.Equal(t, tracking.StatusSuperseded, got.Status)
	assert.Equal(t, tracking.ReasonUninstalled, got.Reason)
	assert.Equal(t, t0.Add(time.Minute), got.DecidedAt)
	_, err := e.store.GetInstall(e.ctx, "ws", "p")
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	assert.Len(t, e.open("ws", "q"), 1, "other installs keep their entries")

	// Terminal entries survive the uninstall as history.
	_, err = e.store.GetUpdate(e.ctx, u.ID)
	assert.NoError(t, err)
	// An uninstalled plugin is no longer reconciled.
	res := e.reconcile(key, sha(3), "", t0.Add(2*time.Minute))
	assert.Equal(t, 1, res.Installs)
	assert.Empty(t, e.open("ws", "p"))
}

func testReinstall(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	for _, p := range []string{"same", "to-target", "elsewhere", "retracked"} {
		e.install("ws", p, key, sha(1), "", t0)
	}
	e.reconcile(key, sha(2), "", t0)
	at := t0.Add(time.Minute)

	// Recording the same commit again changes nothing in the queue.
	e.install("ws", "same", key, sha(1), "", at)
	assert.Len(t, e.open("ws", "same"), 1)

	// Reinstalled at the proposed commit: up to date.
	e.install("ws", "to-target", key, sha(2), "", at)
	u := e.only("ws", "to-target")
	assert.Equal(t, tracking.StatusSuperseded, u.Status)
	assert.Equal(t, tracking.ReasonUpToDate, u.Reason)
	assert.Equal(t, at, u.DecidedAt)

	// Reinstalled at some other commit: the entry's from no longer holds.
	e.install("ws", "elsewhere", key, sha(9), "", at)
	u = e.only("ws", "elsewhere")
	assert.Equal(t, tracking.StatusSuperseded, u.Status)
	assert.Equal(t, tracking.ReasonReinstalled, u.Reason)

	// Same commit, another ref: the entry followed the old ref.
	e.install("ws", "retracked", e.key(srcA, "branch:dev"), sha(1), "", at)
	u = e.only("ws", "retracked")
	assert.Equal(t, tracking.StatusSuperseded, u.Status)
	assert.Equal(t, tracking.ReasonReinstalled, u.Reason)

	// The next sweep queues afresh from the new commit.
	e.reconcile(key, sha(3), "", t0.Add(time.Hour))
	open := e.open("ws", "elsewhere")
	require.Len(t, open, 1)
	assert.Equal(t, sha(9), open[0].FromSHA)
	assert.Empty(t, e.open("ws", "retracked"))
}

// queued makes one pending entry and returns it.
func (e *env) queued(workspace string) tracking.Update {
	e.t.Helper()
	key := e.key(srcA, "branch:main")
	e.install(workspace, "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	return e.only(workspace, "p")
}

func testClaim(t *testing.T, e *env) {
	u := e.queued("ws")
	before := time.Now()
	claimed, err := e.claim(u.ID, 5*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplying, claimed.Status)
	e.assertClaimedFor(claimed, before, 5*time.Minute)
	assert.Equal(t, claimed, e.get(u.ID))

	// A live claim: busy.
	got, err := e.claim(u.ID, 5*time.Minute)
	assert.ErrorIs(t, err, tracking.ErrBusy)
	assert.Equal(t, claimed.ClaimedUntil, got.ClaimedUntil)

	// Applied: returned unchanged, no error.
	done, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: t0.Add(time.Minute)})
	require.NoError(t, err)
	got, err = e.claim(u.ID, 5*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, done, got)
	assert.Equal(t, tracking.StatusApplied, got.Status)

	// Dismissed and superseded: conflict.
	d := e.queued("ws-d")
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: d.ID, Actor: "a", At: t0})
	require.NoError(t, err)
	_, err = e.claim(d.ID, time.Minute)
	assert.ErrorIs(t, err, tracking.ErrConflict)
	s := e.queued("ws-s")
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-s", "p", t0))
	_, err = e.claim(s.ID, time.Minute)
	assert.ErrorIs(t, err, tracking.ErrConflict)
	assert.Equal(t, tracking.StatusSuperseded, e.get(s.ID).Status)
}

// testClaimExpired lets a short claim run out on the store's clock: busy
// within its TTL, free again once it passed.
func testClaimExpired(t *testing.T, e *env) {
	u := e.queued("ws")
	start := time.Now()
	_, err := e.claim(u.ID, shortTTL)
	require.NoError(t, err)
	_, err = e.claim(u.ID, time.Minute)
	assert.ErrorIs(t, err, tracking.ErrBusy, "within the TTL")
	before := time.Now()
	got := e.claimOnceExpired(u.ID, time.Minute)
	assert.GreaterOrEqual(t, time.Since(start), shortTTL-20*time.Millisecond, "taken over before its TTL ran out")
	assert.Equal(t, tracking.StatusApplying, got.Status)
	e.assertClaimedFor(got, before, time.Minute)
	assert.Equal(t, got, e.get(u.ID))
}

func testClaimRace(t *testing.T, e *env) {
	u := e.queued("ws")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.claim(u.ID, time.Minute)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, tracking.ErrBusy)
		}
	}
	assert.Equal(t, 1, won, "exactly one caller gets the claim")
}

func testCompleteApply(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(1), "v1", t0)
	e.reconcile(key, sha(2), "v2", t0)
	u := e.only("ws", "p")

	_, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: t0})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "pending is not claimed")
	assert.Equal(t, tracking.StatusPending, e.get(u.ID).Status)

	_, err = e.claim(u.ID, time.Minute)
	require.NoError(t, err)
	at := t0.Add(30 * time.Second)
	got, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: at, RestartError: "restart owed"})
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, got.Status)
	assert.Equal(t, "restart owed", got.RestartError, "recorded with the completion")
	assert.Equal(t, "bob", got.DecidedBy)
	assert.Equal(t, at, got.DecidedAt)
	assert.True(t, got.ClaimedUntil.IsZero())
	assert.Equal(t, got, e.get(u.ID))

	in, err := e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(2), in.InstalledSHA)
	assert.Equal(t, "v2", in.InstalledVersion)
	assert.Equal(t, at, in.InstalledAt)

	// Completed again by its holder (a retry after a lost answer): the
	// same record, nothing changes. By anyone else: claim lost.
	again, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: at.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, got, again)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: "someone-else", Actor: "eve", At: at.Add(time.Hour)})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)
	assert.Equal(t, got, e.get(u.ID))

	// The next sweep finds it up to date and queues nothing.
	res := e.reconcile(key, sha(2), "v2", t0.Add(time.Hour))
	assert.Equal(t, storage.ReconcileResult{Installs: 1}, res)

	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: 999999, Token: e.token(999999), Actor: "x", At: at})
	assert.ErrorIs(t, err, tracking.ErrNotFound)
}

func testReleaseClaim(t *testing.T, e *env) {
	u := e.queued("ws")
	_, err := e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: e.token(u.ID), Message: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)

	for i := 1; i <= 2; i++ {
		_, err = e.claim(u.ID, time.Minute)
		require.NoError(t, err)
		got, err := e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: e.token(u.ID), Message: "disk full", At: t0})
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusPending, got.Status)
		assert.Equal(t, i, got.Attempts)
		assert.Equal(t, "disk full", got.LastError)
		assert.True(t, got.ClaimedUntil.IsZero())
	}
	in, err := e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA, "a failed install leaves the install row alone")
}

func testRestartError(t *testing.T, e *env) {
	u := e.queued("ws")
	_, err := e.store.SetRestartError(e.ctx, u.ID, "boom")
	assert.ErrorIs(t, err, tracking.ErrConflict, "pending")
	_, err = e.claim(u.ID, time.Minute)
	require.NoError(t, err)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "a", At: t0})
	require.NoError(t, err)
	got, err := e.store.SetRestartError(e.ctx, u.ID, "restart: exit 1")
	require.NoError(t, err)
	assert.Equal(t, "restart: exit 1", got.RestartError)
	assert.Equal(t, tracking.StatusApplied, got.Status)
	got, err = e.store.SetRestartError(e.ctx, u.ID, "")
	require.NoError(t, err)
	assert.Empty(t, got.RestartError)
	assert.Equal(t, got, e.get(u.ID))
}

func testDismiss(t *testing.T, e *env) {
	u := e.queued("ws")
	p := storage.DismissUpdateParams{ID: u.ID, Actor: "carol", Reason: "breaks our theme", At: t0.Add(time.Minute)}
	got, err := e.store.DismissUpdate(e.ctx, p)
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusDismissed, got.Status)
	assert.Equal(t, "carol", got.DecidedBy)
	assert.Equal(t, "breaks our theme", got.Reason)
	assert.Equal(t, t0.Add(time.Minute), got.DecidedAt)

	// Idempotent: a second dismissal returns the first one's record.
	again, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "dave", Reason: "other", At: t0.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, got, again)

	// Applying, applied and superseded cannot be dismissed.
	a := e.queued("ws-a")
	_, err = e.claim(a.ID, time.Minute)
	require.NoError(t, err)
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: a.ID, Actor: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrConflict)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: a.ID, Token: e.token(a.ID), Actor: "x", At: t0})
	require.NoError(t, err)
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: a.ID, Actor: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrConflict)
	assert.Equal(t, tracking.StatusApplied, e.get(a.ID).Status)
	s := e.queued("ws-s")
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-s", "p", t0))
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: s.ID, Actor: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrConflict)
}

func testUpdateNotFound(t *testing.T, e *env) {
	for _, id := range []int64{0, -1, 1, 12345} {
		_, err := e.store.GetUpdate(e.ctx, id)
		assert.ErrorIs(t, err, tracking.ErrNotFound, "get %d", id)
		_, err = e.claim(id, time.Minute)
		assert.ErrorIs(t, err, tracking.ErrNotFound, "claim %d", id)
		_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: id, At: t0})
		assert.ErrorIs(t, err, tracking.ErrNotFound, "dismiss %d", id)
		_, err = e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: id, Token: e.token(id), At: t0})
		assert.ErrorIs(t, err, tracking.ErrNotFound, "release %d", id)
		_, err = e.store.SetRestartError(e.ctx, id, "x")
		assert.ErrorIs(t, err, tracking.ErrNotFound, "restart %d", id)
	}
}

func testLeases(t *testing.T, e *env) {
	lease := func(name, holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := e.store.AcquireLease(e.ctx, storage.LeaseParams{Name: name, Holder: holder, TTL: ttl})
		require.NoError(t, err)
		return ok
	}
	const sweeper = "plugindrift/sweeper"
	assert.True(t, lease(sweeper, "a", time.Minute), "free lease")
	assert.False(t, lease(sweeper, "b", time.Minute), "held by a")
	assert.True(t, lease(sweeper, "a", time.Minute), "renewed by its holder")
	assert.False(t, lease(sweeper, "b", time.Minute), "still held by a")

	// Releasing a lease one does not hold does nothing.
	require.NoError(t, e.store.ReleaseLease(e.ctx, sweeper, "b"))
	assert.False(t, lease(sweeper, "b", time.Minute))
	require.NoError(t, e.store.ReleaseLease(e.ctx, sweeper, "a"))
	assert.True(t, lease(sweeper, "b", time.Minute), "released by its holder")
	assert.False(t, lease(sweeper, "a", time.Minute), "a lost it")

	// Leases are independent by name.
	assert.True(t, lease("other", "a", time.Minute))
}

// testLeaseExpiresByStoreClock lets a short lease run out on the store's
// own clock (the database server's): the caller's clock plays no part.
// This one case waits for real time to pass, in bounded polling.
func testLeaseExpiresByStoreClock(t *testing.T, e *env) {
	const ttl = 300 * time.Millisecond
	start := time.Now()
	ok, err := e.store.AcquireLease(e.ctx, storage.LeaseParams{Name: "short", Holder: "a", TTL: ttl})
	require.NoError(t, err)
	require.True(t, ok)
	for {
		ok, err = e.store.AcquireLease(e.ctx, storage.LeaseParams{Name: "short", Holder: "b", TTL: time.Minute})
		require.NoError(t, err)
		if ok {
			break
		}
		require.Less(t, time.Since(start), 20*time.Second, "the lease never expired")
		time.Sleep(20 * time.Millisecond)
	}
	assert.GreaterOrEqual(t, time.Since(start), ttl-20*time.Millisecond, "taken over before its TTL ran out")
	ok, err = e.store.AcquireLease(e.ctx, storage.LeaseParams{Name: "short", Holder: "a", TTL: ttl})
	require.NoError(t, err)
	assert.False(t, ok, "b holds it now")
}

// testClaimFenced is the overlap a claim without an owner allowed: A's
// claim expires, B takes it over, and A's late writes must all be refused
// without touching B's claim or the install.
func testClaimFenced(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws", "p", key, sha(1), "v1", t0)
	e.reconcile(key, sha(2), "v2", t0)
	u := e.only("ws", "p")

	_, err := e.claim(u.ID, shortTTL)
	require.NoError(t, err)
	tokenA := e.token(u.ID)
	b := e.claimOnceExpired(u.ID, time.Minute)
	tokenB := e.token(u.ID)
	require.NotEqual(t, tokenA, tokenB)

	_, err = e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: tokenA, Message: "late failure", At: t0.Add(70 * time.Second)})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "A's late failure")
	_, err = e.store.ExtendClaim(e.ctx, storage.ExtendClaimParams{ID: u.ID, Token: tokenA, TTL: time.Hour})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "A's renewal")
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: tokenA, Actor: "a", At: t0.Add(70 * time.Second)})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "A's late success")
	assert.Equal(t, b, e.get(u.ID), "B's claim is untouched")
	in, err := e.store.GetInstall(e.ctx, "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA, "A's late success recorded nothing")

	// B renews while it installs: C finds it busy past B's first expiry.
	before := time.Now()
	ext, err := e.store.ExtendClaim(e.ctx, storage.ExtendClaimParams{ID: u.ID, Token: tokenB, TTL: 5 * time.Minute})
	require.NoError(t, err)
	e.assertClaimedFor(ext, before, 5*time.Minute)
	_, err = e.claim(u.ID, time.Minute)
	assert.ErrorIs(t, err, tracking.ErrBusy, "C while B renews")
	done, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: tokenB, Actor: "b", At: t0.Add(4 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, done.Status)
	assert.Equal(t, "b", done.DecidedBy)

	// A holder whose entry was superseded after its claim expired records
	// nothing either.
	key2 := e.key(srcB, "branch:main")
	e.install("ws", "q", key2, sha(1), "", t0)
	e.reconcile(key2, sha(2), "", t0)
	q := e.only("ws", "q")
	_, err = e.claim(q.ID, shortTTL)
	require.NoError(t, err)
	e.eventually("the claim on q is still live", func() bool {
		e.reconcile(key2, sha(3), "", t0.Add(2*time.Minute))
		return e.get(q.ID).Status == tracking.StatusSuperseded
	})
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: q.ID, Token: e.token(q.ID), Actor: "a", At: t0.Add(2 * time.Minute)})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)
	assert.Equal(t, tracking.StatusSuperseded, e.get(q.ID).Status)
	in, err = e.store.GetInstall(e.ctx, "ws", "q")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA)
	_, err = e.store.ExtendClaim(e.ctx, storage.ExtendClaimParams{ID: 999999, Token: "x", TTL: time.Minute})
	assert.ErrorIs(t, err, tracking.ErrNotFound)
}

// testClaimNeedsToken: a claim without a token could not fence anything.
func testClaimNeedsToken(t *testing.T, e *env) {
	u := e.queued("ws")
	for _, token := range []string{"", strings.Repeat("x", 129)} {
		_, err := e.store.ClaimUpdate(e.ctx, storage.ClaimUpdateParams{ID: u.ID, Token: token, TTL: time.Minute})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	}
	assert.Equal(t, u, e.get(u.ID), "a refused claim changes nothing")
}

func testLeaseRace(t *testing.T, e *env) {
	// Of many concurrent takers, one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 16 {
		wg.Go(func() {
			ok, err := e.store.AcquireLease(e.ctx, storage.LeaseParams{Name: "race", Holder: string(rune('a' + i)), TTL: time.Minute})
			assert.NoError(t, err)
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, winners)
}

func testListUpdatesPagination(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	for i := range 7 {
		e.install("ws", "p"+string(rune('a'+i)), key, sha(1), "", t0)
	}
	e.reconcile(key, sha(2), "", t0)

	seen := map[int64]bool{}
	var order []int64
	var after int64
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20)
		page := e.updates(storage.ListUpdatesParams{AfterID: after, Limit: 3, Statuses: []tracking.UpdateStatus{tracking.StatusPending}})
		for _, u := range page {
			assert.False(t, seen[u.ID], "entry %d seen twice", u.ID)
			seen[u.ID] = true
			order = append(order, u.ID)
			after = u.ID
		}
		if pages == 0 {
			// Entries queued between pages show up later, nothing repeats.
			for i := range 3 {
				e.install("ws", "q"+string(rune('a'+i)), key, sha(1), "", t0)
			}
			e.reconcile(key, sha(2), "", t0.Add(time.Minute))
		}
		if len(page) < 3 {
			break
		}
	}
	assert.Len(t, seen, 10)
	assert.IsIncreasing(t, order)

	// Newest first, with the same cursor rule.
	var newest []int64
	after = 0
	for {
		page := e.updates(storage.ListUpdatesParams{AfterID: after, Limit: 4, Newest: true})
		for _, u := range page {
			newest = append(newest, u.ID)
			after = u.ID
		}
		if len(page) < 4 {
			break
		}
	}
	assert.Len(t, newest, 10)
	assert.IsDecreasing(t, newest)
}

func testListUpdatesFilters(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("w1", "a", key, sha(1), "", t0)
	e.install("w1", "b", key, sha(1), "", t0)
	e.install("w2", "a", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	d := e.only("w1", "b")
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: d.ID, Actor: "x", At: t0})
	require.NoError(t, err)

	ids := func(us []tracking.Update) (out []string) {
		for _, u := range us {
			out = append(out, u.WorkspaceID+"/"+u.PluginName+":"+string(u.Status))
		}
		return out
	}
	assert.ElementsMatch(t, []string{"w1/a:pending", "w1/b:dismissed"}, ids(e.updates(storage.ListUpdatesParams{WorkspaceID: "w1"})))
	assert.ElementsMatch(t, []string{"w1/a:pending", "w2/a:pending"}, ids(e.updates(storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}})))
	assert.Equal(t, []string{"w1/b:dismissed"}, ids(e.updates(storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusDismissed, tracking.StatusApplied}})))
	assert.Equal(t, []string{"w2/a:pending"}, ids(e.updates(storage.ListUpdatesParams{WorkspaceID: "w2", PluginName: "a"})))
	assert.Empty(t, e.updates(storage.ListUpdatesParams{WorkspaceID: "w3"}))
}

func testListBadParams(t *testing.T, e *env) {
	for _, p := range []storage.ListUpdatesParams{
		{Limit: 0}, {Limit: -1}, {Limit: storage.MaxLimit + 1}, {Limit: 10, AfterID: -5},
		{Limit: 10, Statuses: []tracking.UpdateStatus{"open'; --"}},
	} {
		_, err := e.store.ListUpdates(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
	}
	_, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 0})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	_, err = e.store.ListInstalls(e.ctx, storage.ListInstallsParams{Limit: storage.MaxLimit + 1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
}

func testReconcileRace(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	const installs = 5
	for i := range installs {
		e.install("ws", "p"+string(rune('a'+i)), key, sha(1), "", t0)
	}
	// 16 sweepers learn of the same drift at once, and then of a newer one.
	for round, target := range []string{sha(2), sha(3)} {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 16 {
			wg.Go(func() {
				<-start
				_, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: target, Now: t0.Add(time.Duration(round) * time.Minute)})
				assert.NoError(t, err)
			})
		}
		close(start)
		wg.Wait()
		for i := range installs {
			open := e.open("ws", "p"+string(rune('a'+i)))
			require.Len(t, open, 1, "round %d install %d", round, i)
			assert.Equal(t, target, open[0].ToSHA)
		}
	}
}

func testLiteral(t *testing.T, e *env) {
	// Free text is stored byte for byte and never interpreted.
	hostile := "'); DROP TABLE plugindrift_updates; -- ? $1 %s \\ \"quoted\" — ünïcödé 🔥"
	key := e.key(srcA, "branch:fix/ça-marche")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(2), "", t0)
	u := e.only("ws", "p")
	got, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: hostile, Reason: hostile, At: t0})
	require.NoError(t, err)
	assert.Equal(t, hostile, got.Reason)
	got = e.get(u.ID)
	assert.Equal(t, hostile, got.Reason)
	assert.Equal(t, hostile, got.DecidedBy)
	assert.Equal(t, "fix/ça-marche", got.Ref.Name())
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, hostile, t0))
	assert.Equal(t, hostile, e.upstream(key).LastError)
	// The tables are still there.
	assert.Len(t, e.updates(storage.ListUpdatesParams{}), 1)
}

func testCancelled(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.store.Reconcile(ctx, storage.ReconcileParams{Key: key, SHA: sha(2), Now: t0})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	_, err = e.store.UpsertInstall(ctx, tracking.Install{WorkspaceID: "ws", PluginName: "q", Source: key.Source, Ref: key.Ref, InstalledSHA: sha(1), UpdatedAt: t0})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, e.updates(storage.ListUpdatesParams{}), "nothing written")
	_, err = e.store.GetInstall(e.ctx, "ws", "q")
	assert.ErrorIs(t, err, tracking.ErrNotFound)
}

func testInvalidInput(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	valid := tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: key.Source, Ref: key.Ref, InstalledSHA: sha(1), UpdatedAt: t0}
	for name, mut := range map[string]func(*tracking.Install){
		"workspace":          func(in *tracking.Install) { in.WorkspaceID = "ws'; DROP TABLE x; --" },
		"plugin":             func(in *tracking.Install) { in.PluginName = "../p" },
		"zero source":        func(in *tracking.Install) { in.Source = tracking.Source{} },
		"local tracks a ref": func(in *tracking.Install) { in.Source = e.source("local://p") },
		"sha":                func(in *tracking.Install) { in.InstalledSHA = "HEAD" },
	} {
		in := valid
		mut(&in)
		_, err := e.store.UpsertInstall(e.ctx, in)
		assert.Error(t, err, name)
	}
	all, err := e.store.ListInstalls(e.ctx, storage.ListInstallsParams{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, all, "a refused install writes nothing")
	ups, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, ups)

	for _, p := range []storage.LeaseParams{
		{Name: "", Holder: "a", TTL: time.Minute},
		{Name: "l", Holder: "", TTL: time.Minute},
		{Name: "l", Holder: "a", TTL: 0},
	} {
		_, err := e.store.AcquireLease(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
	}
	for _, k := range []tracking.UpstreamKey{
		e.key(srcA, "none"),
		e.key(srcA, "sha:"+sha(1)),
		{Source: e.source("local://p"), Ref: key.Ref},
	} {
		err := e.store.RecordUpstreamFailure(e.ctx, k, "x", t0)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, k.String())
	}
}

func testCountOpenUpdates(t *testing.T, e *env) {
	counts := func() map[string]int {
		t.Helper()
		cs, err := e.store.CountOpenUpdates(e.ctx)
		require.NoError(t, err)
		m := map[string]int{}
		for _, c := range cs {
			k := string(c.Status) + "/" + string(c.Kind)
			assert.NotContains(t, m, k, "one group per status and kind")
			assert.Positive(t, c.Count, k)
			m[k] = c.Count
		}
		return m
	}
	assert.Empty(t, counts())

	branch, tag, latest := e.key(srcA, "branch:main"), e.key(srcA, "tag:v1.0.0"), e.key(srcB, "tag:latest")
	for i := range 3 {
		e.install("ws", fmt.Sprintf("b%d", i), branch, sha(1), "", t0)
	}
	e.install("ws", "t", tag, sha(1), "", t0)
	e.install("ws", "l1", latest, sha(1), "v1.0.0", t0)
	e.install("ws", "l2", latest, sha(1), "v1.0.0", t0)
	e.reconcile(branch, sha(2), "", t0)
	e.reconcile(tag, sha(3), "", t0)
	e.reconcile(latest, sha(4), "v1.1.0", t0)

	// One branch entry is being applied, one applied, one latest dismissed:
	// only open entries count.
	b0, b1, l2 := e.only("ws", "b0"), e.only("ws", "b1"), e.only("ws", "l2")
	_, err := e.claim(b0.ID, time.Hour)
	require.NoError(t, err)
	_, err = e.claim(b1.ID, time.Hour)
	require.NoError(t, err)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: b1.ID, Token: e.token(b1.ID), Actor: "op", At: t0})
	require.NoError(t, err)
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: l2.ID, Actor: "op", Reason: "no", At: t0})
	require.NoError(t, err)

	assert.Equal(t, map[string]int{
		"applying/new-commit": 1,
		"pending/new-commit":  1,
		"pending/tag-moved":   1,
		"pending/new-version": 1,
	}, counts())
}

func testCountFailingUpstreams(t *testing.T, e *env) {
	count := func() int {
		t.Helper()
		n, err := e.store.CountFailingUpstreams(e.ctx)
		require.NoError(t, err)
		return n
	}
	assert.Zero(t, count())
	a, b, c := e.key(srcA, "branch:main"), e.key(srcA, "tag:latest"), e.key(srcB, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.install("ws", "b", b, sha(1), "v1.0.0", t0)
	e.install("ws", "c", c, sha(1), "", t0)
	for _, k := range []tracking.UpstreamKey{a, b} {
		require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, k, "boom", t0))
	}
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, a, "boom again", t0))
	assert.Equal(t, 2, count(), "two upstreams failing, one of them twice")

	e.reconcile(a, sha(2), "", t0.Add(time.Minute))
	assert.Equal(t, 1, count(), "a success clears the failure")

	// An upstream nobody tracks any more is not counted.
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws", "b", t0.Add(time.Minute)))
	assert.Zero(t, count())
}
