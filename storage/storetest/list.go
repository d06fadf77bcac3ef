package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// testListTriageFilters: workspace prefix, kind and source filters, alone
// and together, on updates and installs.
func testListTriageFilters(t *testing.T, e *env) {
	branch := e.key(srcA, "branch:main")
	tag := e.key(srcB, "tag:v1.0.0")
	e.install("acme-1", "a", branch, sha(1), "", t0)
	e.install("acme-2", "a", tag, sha(1), "v1.0.0", t0)
	e.install("acme", "b", branch, sha(1), "", t0)
	e.install("acmf", "a", branch, sha(1), "", t0) // sorts right after the prefix "acme"
	e.install("beta", "a", tag, sha(1), "v1.0.0", t0)
	e.reconcile(branch, sha(2), "", t0)
	e.reconcile(tag, sha(3), "v1.0.0", t0)

	names := func(us []tracking.Update) (out []string) {
		for _, u := range us {
			out = append(out, u.WorkspaceID+"/"+u.PluginName)
		}
		return out
	}
	assert.Equal(t, []string{"acme/b", "acme-1/a", "acme-2/a"}, names(e.updates(storage.ListUpdatesParams{WorkspacePrefix: "acme"})))
	assert.Equal(t, []string{"acme-2/a", "beta/a"}, names(e.updates(storage.ListUpdatesParams{Kinds: []tracking.UpdateKind{tracking.KindTagMoved}})))
	assert.Equal(t, []string{"acme-2/a", "beta/a"}, names(e.updates(storage.ListUpdatesParams{Source: e.source(srcB)})))
	assert.Equal(t, []string{"acme/b", "acme-1/a"}, names(e.updates(storage.ListUpdatesParams{
		WorkspacePrefix: "acme", Kinds: []tracking.UpdateKind{tracking.KindNewCommit, tracking.KindNewCommit}, Source: e.source(srcA)})))
	assert.Equal(t, []string{"acme-2/a"}, names(e.updates(storage.ListUpdatesParams{WorkspacePrefix: "acme-2", PluginName: "a"})))
	assert.Empty(t, e.updates(storage.ListUpdatesParams{WorkspacePrefix: "zz"}))

	ins, err := e.store.ListInstalls(e.ctx, storage.ListInstallsParams{WorkspacePrefix: "acme", PluginName: "a", Limit: 10})
	require.NoError(t, err)
	var got []string
	for _, in := range ins {
		got = append(got, in.WorkspaceID+"/"+in.PluginName)
	}
	assert.Equal(t, []string{"acme-1/a", "acme-2/a"}, got)

	for _, p := range []storage.ListUpdatesParams{
		{Limit: 10, WorkspacePrefix: "a%"}, {Limit: 10, WorkspacePrefix: "a'--"},
		{Limit: 10, Kinds: []tracking.UpdateKind{"moved'; --"}},
		{Limit: 10, ByDecision: true},
		{Limit: 10, ByDecision: true, Statuses: []tracking.UpdateStatus{tracking.StatusPending}},
	} {
		_, err := e.store.ListUpdates(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
	}
	_, err = e.store.ListInstalls(e.ctx, storage.ListInstallsParams{Limit: 10, WorkspacePrefix: "a b"})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
}

// testListByDecision: the history in decision order, newest first, by id
// among equal times, paged by (decided_at, id) without repeats or gaps.
func testListByDecision(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	decided := []time.Duration{3, 1, 2, 2, 5} // minutes after t0, in id order
	var ids []int64
	for i, d := range decided {
		ws := "w" + string(rune('a'+i))
		e.install(ws, "p", key, sha(1), "", t0)
		e.reconcile(key, sha(2), "", t0)
		u := e.only(ws, "p")
		_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "x", At: t0.Add(d * time.Minute)})
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	want := []int64{ids[4], ids[0], ids[3], ids[2], ids[1]}
	decidedOnly := []tracking.UpdateStatus{tracking.StatusDismissed, tracking.StatusApplied, tracking.StatusSuperseded}
	var got []int64
	p := storage.ListUpdatesParams{Statuses: decidedOnly, ByDecision: true, Limit: 2}
	for range 10 {
		page, err := e.store.ListUpdates(e.ctx, p)
		require.NoError(t, err)
		for _, u := range page {
			got = append(got, u.ID)
		}
		if len(page) < p.Limit {
			break
		}
		last := page[len(page)-1]
		p.AfterDecidedAt, p.AfterID = last.DecidedAt, last.ID
	}
	assert.Equal(t, want, got)
}
