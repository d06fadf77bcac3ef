package fakegithub_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// paid lists the requests that cost rate limit (GitHub does not count a
// 304), as path?query.
func paid(reqs []fakegithub.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Status != http.StatusNotModified {
			out = append(out, r.Path+"?"+r.Query)
		}
	}
	return out
}

// taggedRepo starts the fake API over a repository widget whose main
// branch has one commit with tags v1.0.0 … v1.<tags-1>.0 on it, and
// returns the API and the commit.
func taggedRepo(t *testing.T, tags int) (*fakegithub.Server, string) {
	t.Helper()
	dir := t.TempDir()
	api := fakegithub.Start(fakegithub.Config{Path: func(_, name string) string { return filepath.Join(dir, name+".git") }})
	t.Cleanup(api.Close)
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "main")
	require.NoError(t, err)
	c1, err := repo.Commit("main", "one")
	require.NoError(t, err)
	targets := map[string]string{}
	for i := range tags {
		targets[fmt.Sprintf("v1.%d.0", i)] = c1
	}
	require.NoError(t, repo.Tags(targets))
	return api, c1
}

// newGitHub returns a github resolver serving api as github.com.
func newGitHub(t *testing.T, api *fakegithub.Server) *github.Resolver {
	t.Helper()
	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "github.com", APIBaseURL: api.BaseURL()})
	require.NoError(t, err)
	gh, err := github.New(&github.Config{Hosts: hosts})
	require.NoError(t, err)
	return gh
}

// TestUnchangedSweepCostsNothing sweeps one upstream per ref kind of a
// repository with many tags (as many as google/go-github's 152 and
// urfave/cli's 204) twice with the github resolver: the second sweep, with
// nothing changed upstream, must cost no counted request for any of them.
// The counts go in BENCHMARKS.md (run with -v to see them).
func TestUnchangedSweepCostsNothing(t *testing.T) {
	for _, tags := range []int{152, 204} {
		t.Run(fmt.Sprintf("%d tags", tags), func(t *testing.T) {
			api, c1 := taggedRepo(t, tags)

			ctx := context.Background()
			store := memstore.New()
			tr, err := tracking.NewTracker(store, nil)
			require.NoError(t, err)
			// Each ref kind is its own upstream; one install follows each.
			refs := []string{"branch:main", "tag:v1.7.0", "tag:latest", "semver:^1.2", "head"}
			for i, ref := range refs {
				_, err := tr.RecordInstall(ctx, tracking.InstallRecord{WorkspaceID: fmt.Sprintf("ws%d", i), PluginName: "widget", Source: "github://acme/widget", Ref: ref, SHA: c1})
				require.NoError(t, err)
			}
			gh := newGitHub(t, api)
			s, err := drift.NewSweeper(store, gh, &drift.SweeperConfig{Concurrency: 1})
			require.NoError(t, err)

			for sweep, want := range []int{-1, 0} {
				api.ResetRequests()
				rep, err := s.RunOnce(ctx)
				require.NoError(t, err)
				require.Zero(t, rep.Failed, "%+v", rep.Errors)
				require.Equal(t, len(refs), rep.Upstreams)
				n := len(paid(api.Requests()))
				t.Logf("%d tags, sweep %d: %d requests, %d counted against the rate limit", tags, sweep+1, len(api.Requests()), n)
				if want >= 0 {
					assert.Equal(t, want, n, "an unchanged sweep costs rate limit: %v", paid(api.Requests()))
					assert.Equal(t, len(refs), rep.Unchanged, "every upstream is reported unchanged")
				}
			}
		})
	}
}

// TestUnchangedSweepPerRefKind measures each ref kind alone: the counted
// requests of a first sweep and of an unchanged second sweep, over 152
// tags. Each must be 0 the second time.
func TestUnchangedSweepPerRefKind(t *testing.T) {
	api, c1 := taggedRepo(t, 152)

	for _, ref := range []string{"branch:main", "tag:v1.7.0", "tag:latest", "semver:^1.2", "head"} {
		ctx := context.Background()
		store := memstore.New()
		tr, err := tracking.NewTracker(store, nil)
		require.NoError(t, err)
		_, err = tr.RecordInstall(ctx, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "widget", Source: "github://acme/widget", Ref: ref, SHA: c1})
		require.NoError(t, err)
		s, err := drift.NewSweeper(store, newGitHub(t, api), nil)
		require.NoError(t, err)
		var costs []int
		for range 2 {
			api.ResetRequests()
			rep, err := s.RunOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, rep.Failed, "%s: %+v", ref, rep.Errors)
			costs = append(costs, len(paid(api.Requests())))
		}
		t.Logf("%-12s first sweep %d, unchanged sweep %d counted requests", ref, costs[0], costs[1])
		assert.Zero(t, costs[1], "%s: an unchanged sweep costs rate limit", ref)
	}
}
