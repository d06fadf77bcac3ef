package fakegithub_test

// This test belongs with internal/reliability's fault-injection tests; it
// lives here because only packages under resolver/github may import
// fakegithub.

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestSweepBacksOffARateLimitedHost runs a Sweeper over many GitHub
// upstreams (the github resolver against this fake API) and some git
// upstreams (gitcli over smart HTTP), and answers every API request with a
// rate limit: 429 with Retry-After, then 403 with X-RateLimit-Remaining: 0
// and a reset. While the limit lasts the API host must be left alone: at
// most Concurrency requests when the limit is first met, none on the
// sweeps before the wait is over, while the git upstreams are resolved
// and queued as usual; once it is over, the GitHub upstreams are queued.
func TestSweepBacksOffARateLimitedHost(t *testing.T) {
	const ghRepos, gitRepos, concurrency = 12, 4, 3
	ghDir, gitDir := t.TempDir(), t.TempDir()
	type repo struct {
		r          *fakegithub.Repo
		source, at string
	}
	var repos []repo
	api := fakegithub.Start(fakegithub.Config{Path: func(_, name string) string { return filepath.Join(ghDir, name+".git") }})
	t.Cleanup(api.Close)
	gitBase := resolvertest.ServeSmartHTTP(t, gitDir)
	for i := range ghRepos + gitRepos {
		name := fmt.Sprintf("r%02d", i)
		dir, source := filepath.Join(ghDir, name+".git"), "github://acme/"+name
		if i >= ghRepos {
			dir, source = filepath.Join(gitDir, name+".git"), "git+"+gitBase+"/"+name+".git"
		}
		r, err := fakegithub.InitRepo(dir, "main")
		require.NoError(t, err)
		c1, err := r.Commit("main", name+" one")
		require.NoError(t, err)
		require.NoError(t, r.Tag("v1.0.0", c1))
		repos = append(repos, repo{r: r, source: source, at: c1})
	}
	ref := func(i int) string { return []string{"branch:main", "tag:latest"}[i%2] }
	// move gives every repository in [from, to) a new commit, tagged.
	move := func(from, to int, tag string) {
		for i := from; i < to; i++ {
			c, err := repos[i].r.Commit("main", fmt.Sprintf("r%02d %s", i, tag))
			require.NoError(t, err)
			require.NoError(t, repos[i].r.Tag(tag, c))
		}
	}

	ctx := context.Background()
	store, err := bunstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "drift.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Migrate(ctx))
	tr, err := tracking.NewTracker(store, nil)
	require.NoError(t, err)
	for i, r := range repos {
		_, err := tr.RecordInstall(ctx, tracking.InstallRecord{WorkspaceID: "ws", PluginName: fmt.Sprintf("r%02d", i), Source: r.source, Ref: ref(i), SHA: r.at, Version: "v1.0.0"})
		require.NoError(t, err)
	}

	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "github.com", APIBaseURL: api.BaseURL()})
	require.NoError(t, err)
	gh, err := github.New(&github.Config{Hosts: hosts, Now: clock.Now})
	require.NoError(t, err)
	git, err := gitcli.New(nil)
	require.NoError(t, err)
	res, err := resolver.NewRegistry(map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGitHub: gh, tracking.SchemeGit: git})
	require.NoError(t, err)
	s, err := drift.NewSweeper(store, res, &drift.SweeperConfig{Concurrency: concurrency, Now: clock.Now})
	require.NoError(t, err)
	sweep := func() (drift.Report, int) {
		t.Helper()
		api.ResetRequests()
		rep, err := s.RunOnce(ctx)
		require.NoError(t, err)
		return rep, len(api.Requests())
	}

	for round, c := range []struct {
		name  string
		limit func() fakegithub.Response
		wait  time.Duration
	}{
		{"429 Retry-After", func() fakegithub.Response { return fakegithub.TooManyRequests(time.Minute) }, time.Minute},
		{"403 X-RateLimit-Remaining: 0", func() fakegithub.Response { return fakegithub.PrimaryLimit(clock.Now().Add(3 * time.Minute)) }, 3 * time.Minute},
	} {
		move(0, len(repos), fmt.Sprintf("v1.%d.0", round+1))
		api.Limit(c.limit())
		rep, requests := sweep()
		t.Logf("%s, first sweep: %d requests to the API for %d GitHub upstreams; %+v", c.name, requests, ghRepos, rep)
		assert.Positive(t, requests, c.name)
		assert.LessOrEqual(t, requests, concurrency, "%s: once limited, the host is not called again in the sweep", c.name)
		assert.Equal(t, ghRepos, rep.Deferred, "%s: every GitHub upstream waits", c.name)
		assert.Zero(t, rep.Failed, "%s: a rate limit is no upstream's failure", c.name)
		assert.Equal(t, gitRepos, rep.Resolved, "%s: the git upstreams are resolved all the same", c.name)
		assert.Equal(t, gitRepos, rep.Queued, c.name)

		clock.Advance(c.wait / 2)
		rep, requests = sweep()
		assert.Zero(t, requests, "%s: no request before the wait is over", c.name)
		assert.Equal(t, ghRepos, rep.Deferred, c.name)

		api.Unlimit()
		clock.Advance(c.wait/2 + time.Second)
		rep, requests = sweep()
		t.Logf("%s, after the wait: %d requests; %+v", c.name, requests, rep)
		assert.Zero(t, rep.Deferred, c.name)
		assert.Equal(t, ghRepos+gitRepos, rep.Resolved, c.name)
		assert.Equal(t, ghRepos, rep.Queued, "%s: the GitHub upstreams are queued once the wait is over", c.name)
	}
}
