package reliability_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

type installKey struct{ ws, plugin string }

// allEntries reads the whole queue, page by page; call it when nothing
// writes any more.
func allEntries(t *testing.T, store storage.Store) map[int64]tracking.Update {
	t.Helper()
	out := map[int64]tracking.Update{}
	var after int64
	for {
		page, err := store.ListUpdates(context.Background(), storage.ListUpdatesParams{AfterID: after, Limit: storage.MaxLimit})
		require.NoError(t, err)
		for _, u := range page {
			out[u.ID] = u
			after = u.ID
		}
		if len(page) < storage.MaxLimit {
			return out
		}
	}
}

// allInstalls reads every install.
func allInstalls(t *testing.T, store storage.Store) map[installKey]tracking.Install {
	t.Helper()
	out := map[installKey]tracking.Install{}
	p := storage.ListInstallsParams{Limit: storage.MaxLimit}
	for {
		page, err := store.ListInstalls(context.Background(), p)
		require.NoError(t, err)
		for _, in := range page {
			out[installKey{in.WorkspaceID, in.PluginName}] = in
			p.AfterWorkspaceID, p.AfterPluginName = in.WorkspaceID, in.PluginName
		}
		if len(page) < storage.MaxLimit {
			return out
		}
	}
}

// openDuplicates counts, in one statement (one snapshot), the installs
// with more than one open entry. It never fails the test itself, so that
// goroutines may sample it while replicas write.
func openDuplicates(ctx context.Context, store *bunstore.Store) (int, error) {
	var n int
	err := store.DB().QueryRowContext(ctx, `SELECT count(*) FROM (
		SELECT workspace_id, plugin_name FROM `+bunstore.DefaultTablePrefix+`updates
		WHERE status IN ('pending', 'applying')
		GROUP BY workspace_id, plugin_name HAVING count(*) > 1) d`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sample open entries: %w", err)
	}
	return n, nil
}

// checkOneOpen checks, on a quiet store, that no install has two open
// entries.
func checkOneOpen(t *testing.T, entries map[int64]tracking.Update) {
	t.Helper()
	l := errorList{name: "at most one open entry per install"}
	open := map[installKey][]int64{}
	for _, e := range entries {
		if e.Status.Open() {
			k := installKey{e.WorkspaceID, e.PluginName}
			open[k] = append(open[k], e.ID)
		}
	}
	for k, ids := range open {
		if len(ids) > 1 {
			l.add("%s/%s has open entries %v", k.ws, k.plugin, ids)
		}
	}
	l.report(t)
}

// checkNoStuckClaims checks that no entry is applying past its claim at
// now: a crashed holder's entry must have been taken over.
func checkNoStuckClaims(t *testing.T, entries map[int64]tracking.Update, now time.Time) {
	t.Helper()
	l := errorList{name: "no entry stuck in applying past its claim"}
	for _, e := range entries {
		if e.Status == tracking.StatusApplying && !e.ClaimedUntil.After(now) {
			l.add("update %d is applying, claimed until %s (now %s)", e.ID, e.ClaimedUntil.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
		}
	}
	l.report(t)
}

// checkDrift checks, after a sweep on a quiet store, that no upstream move
// was lost: every install of f is at its upstream's current commit, or has
// an open entry to it, or a dismissed entry from its commit to it; and
// every upstream row knows the current commit.
func checkDrift(t *testing.T, store storage.Store, f *farm) {
	t.Helper()
	l := errorList{name: "every upstream move is queued, dismissed or matched"}
	entries := allEntries(t, store)
	index := map[string]int{}
	for i := range f.len() {
		index[f.name(i)] = i
		up, err := store.GetUpstream(context.Background(), f.key(i))
		if err != nil {
			l.add("upstream %s: %v", f.key(i), err)
		} else if up.LastSHA != f.want(i) {
			l.add("upstream %s knows %.12s, the repository is at %.12s", f.key(i), up.LastSHA, f.want(i))
		}
	}
	covered := map[installKey]bool{}
	for _, e := range entries {
		k := installKey{e.WorkspaceID, e.PluginName}
		i, ok := index[e.PluginName]
		if !ok || e.ToSHA != f.want(i) {
			continue
		}
		if e.Status.Open() {
			covered[k] = true
		}
	}
	installs := allInstalls(t, store)
	for k, in := range installs {
		i, ok := index[k.plugin]
		if !ok {
			l.add("install %s/%s is of no farm repository", k.ws, k.plugin)
			continue
		}
		want := f.want(i)
		if in.InstalledSHA == want || covered[k] || dismissed(entries, k, in.InstalledSHA, want) {
			continue
		}
		l.add("%s/%s is at %.12s, upstream at %.12s, and no open or dismissed entry leads there", k.ws, k.plugin, in.InstalledSHA, want)
	}
	l.report(t)
}

func dismissed(entries map[int64]tracking.Update, k installKey, from, to string) bool {
	for _, e := range entries {
		if e.Status == tracking.StatusDismissed && e.WorkspaceID == k.ws && e.PluginName == k.plugin && e.FromSHA == from && e.ToSHA == to {
			return true
		}
	}
	return false
}

// checkUpstreamsAtomic checks, after a sweep was cut short, that each
// upstream was reconciled completely or not at all: either its row knows
// the commit f's repository is at now and every install of it has an open
// entry there, or its row does not and none has. Every install must still
// be at its first commit. It returns how many upstreams were reconciled.
func checkUpstreamsAtomic(t *testing.T, store storage.Store, f *farm, perUpstream int) int {
	t.Helper()
	l := errorList{name: "a sweep that was stopped leaves each upstream reconciled completely or not at all"}
	entries := allEntries(t, store)
	reconciled := 0
	for i := range f.len() {
		want := f.want(i)
		n := 0
		for _, e := range entries {
			if e.PluginName == f.name(i) && e.Status.Open() && e.ToSHA == want {
				n++
			}
		}
		up, err := store.GetUpstream(context.Background(), f.key(i))
		require.NoError(t, err)
		known := up.LastSHA == want
		switch {
		case known && n == perUpstream:
			reconciled++
		case !known && n == 0:
		default:
			l.add("upstream %s: row knows the new commit: %t; %d of %d installs have an entry to it", f.key(i), known, n, perUpstream)
		}
	}
	l.report(t)
	return reconciled
}

// checkInstalledAtLastApplied checks that every install is at the ToSHA of
// its last applied entry, or at its first commit when none was applied.
func checkInstalledAtLastApplied(t *testing.T, store storage.Store, entries map[int64]tracking.Update, f *farm) {
	t.Helper()
	l := errorList{name: "every install is at its last applied entry's to_sha"}
	last := map[installKey]tracking.Update{}
	for _, e := range entries {
		k := installKey{e.WorkspaceID, e.PluginName}
		// Entries of one install are opened one after the other, so the
		// highest id applied is the last applied.
		if e.Status == tracking.StatusApplied && e.ID > last[k].ID {
			last[k] = e
		}
	}
	first := map[string]string{}
	for i := range f.len() {
		first[f.name(i)] = f.first(i)
	}
	for k, in := range allInstalls(t, store) {
		want := first[k.plugin]
		if e, ok := last[k]; ok {
			want = e.ToSHA
		}
		if in.InstalledSHA != want {
			l.add("%s/%s is at %.12s, want %.12s", k.ws, k.plugin, in.InstalledSHA, want)
		}
	}
	l.report(t)
}
