package drift_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// countingAncestry counts the ancestry checks of the resolver it wraps,
// and can make them fail.
type countingAncestry struct {
	resolver.Resolver
	checks atomic.Int32
	err    error
}

func (c *countingAncestry) NotAncestors(ctx context.Context, src tracking.Source, tip string, shas []string) ([]string, error) {
	c.checks.Add(1)
	if c.err != nil {
		return nil, c.err
	}
	return c.Resolver.(resolver.AncestryChecker).NotAncestors(ctx, src, tip, shas)
}

func byPlugin(t *testing.T, s storage.Store) map[string]tracking.Update {
	t.Helper()
	m := map[string]tracking.Update{}
	for _, u := range pending(t, s) {
		m[u.PluginName] = u
	}
	return m
}

// TestForcePushRaisesHistoryRewritten force-pushes a real fixture branch
// that two installs follow: the one at the commit the push threw away
// gets a history-rewritten alarm, which auto-apply leaves alone; the one
// still in the branch's history gets an ordinary new-commit entry.
func TestForcePushRaisesHistoryRewritten(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		repos := resolvertest.NewRepos(t)
		git, err := gitcli.New(&gitcli.Config{AllowFile: true, HistoryCacheDir: t.TempDir()})
		require.NoError(t, err)
		res := &countingAncestry{Resolver: git}
		c := newClock()
		src := "git+file://" + repos.Path(resolvertest.RepoPlugin)
		tip := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
		parent := repos.SHA(resolvertest.RepoPlugin, "refs/tags/2.0.0-rc.1")
		record(t, s, c, "ws", "at-tip", src, "branch:main", tip, "")
		record(t, s, c, "ws", "behind", src, "branch:main", parent, "")
		sw := newSweeper(t, s, res, c, nil)

		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, rep.Resolved, "%+v", rep.Errors)
		assert.Equal(t, tracking.KindNewCommit, byPlugin(t, s)["behind"].Kind)

		rewritten := repos.ForcePush(t, resolvertest.RepoPlugin, "main")
		c.Advance(time.Hour)
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, rep.Resolved, "%+v", rep.Errors)
		got := byPlugin(t, s)
		require.Len(t, got, 2)
		assert.Equal(t, tracking.KindHistoryRewritten, got["at-tip"].Kind, "the installed commit was pushed away")
		assert.Equal(t, rewritten, got["at-tip"].ToSHA)
		assert.Equal(t, tracking.KindNewCommit, got["behind"].Kind, "the new tip still descends from it")
		assert.Equal(t, int32(2), res.checks.Load())

		// An unchanged sweep asks nothing more.
		c.Advance(time.Hour)
		_, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int32(2), res.checks.Load(), "the tip did not move: no ancestry check")

		// Auto-apply, whatever its rule says, takes only the ordinary entry.
		var installed []string
		up := newUpdater(t, s, drift.InstallerFunc(func(_ context.Context, req drift.InstallRequest) error {
			installed = append(installed, req.PluginName)
			return nil
		}), nil, &drift.UpdaterConfig{Now: c.Now, AutoApply: func(tracking.Update) bool { return true }})
		n, err := up.AutoApply(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, []string{"behind"}, installed)
		assert.Equal(t, tracking.StatusPending, byPlugin(t, s)["at-tip"].Status)
	})
}

// TestFailedAncestryCheckFailsTheUpstream: an alarm is never dropped
// because the check could not run; an unsupported check is no check.
func TestFailedAncestryCheckFailsTheUpstream(t *testing.T) {
	c := newClock()
	s := newStoreForSchedule()
	fake := newFakeResolver()
	fake.set(srcA, "branch:main", sha(2), "")
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res := &countingAncestry{Resolver: fake, err: errors.New("cache dir not writable")}
	rep, err := newSweeper(t, s, res, c, nil).RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Failed)
	require.Len(t, rep.Errors, 1)
	assert.Contains(t, rep.Errors[0].Error, "force-push check of")
	assert.Empty(t, pending(t, s))

	res.err = resolver.ErrUnsupported
	c.Advance(24 * time.Hour)
	rep, err = newSweeper(t, s, res, c, nil).RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Resolved)
	require.Len(t, pending(t, s), 1)
	assert.Equal(t, tracking.KindNewCommit, pending(t, s)[0].Kind)
}

// TestCheckRaisesHistoryRewritten: a check of one upstream (what a push
// webhook or "check now" runs) sees a force-push as a sweep does, and the
// alarm's event is written with it.
func TestCheckRaisesHistoryRewritten(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		repos := resolvertest.NewRepos(t)
		git, err := gitcli.New(&gitcli.Config{AllowFile: true, HistoryCacheDir: t.TempDir()})
		require.NoError(t, err)
		c := newClock()
		src := "git+file://" + repos.Path(resolvertest.RepoPlugin)
		tip := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
		record(t, s, c, "ws", "p", src, "branch:main", tip, "")
		sw := newSweeper(t, s, git, c, nil)
		k := key(src, "branch:main")
		_, err = sw.Check(t.Context(), k)
		require.NoError(t, err)

		rewritten := repos.ForcePush(t, resolvertest.RepoPlugin, "main")
		c.Advance(time.Hour)
		rep, err := sw.Check(t.Context(), k)
		require.NoError(t, err)
		require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
		u := byPlugin(t, s)["p"]
		assert.Equal(t, tracking.KindHistoryRewritten, u.Kind)
		assert.Equal(t, rewritten, u.ToSHA)
		evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: storage.MaxLimit})
		require.NoError(t, err)
		var types []tracking.EventType
		for _, ev := range evs {
			if ev.UpdateID == u.ID {
				types = append(types, ev.Type)
			}
		}
		assert.Equal(t, []tracking.EventType{tracking.EventUpdateQueued, tracking.EventAlarmHistoryRewritten}, types)
	})
}
