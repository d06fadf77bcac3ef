package github_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestAncestry holds the compare-based force-push check to the shared
// cases, the fake's compare endpoint answering from the fixtures.
func TestAncestry(t *testing.T) {
	resolvertest.RunAncestry(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			srv := fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return repos.Path(repo) }})
			t.Cleanup(srv.Close)
			cfg := hostConfig(t, "github.com", srv.BaseURL())
			r, err := github.New(&cfg)
			require.NoError(t, err)
			return r, func(repo string) tracking.Source {
				return must(tracking.GitHubSource("", "fixtures", repo))
			}
		},
	})
}

// TestAncestryOnAnEnterpriseHost runs the same cases against a second
// host of Config.Hosts whose API wants a token: the compare requests go to
// that host's API with that host's Auth, and github.com's is never used.
func TestAncestryOnAnEnterpriseHost(t *testing.T) {
	const token = "ghp_enterprise"
	var srv *fakegithub.Server
	resolvertest.RunAncestry(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			srv = fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return repos.Path(repo) }, Prefix: "/api/v3", Token: token})
			t.Cleanup(srv.Close)
			r, err := github.New(&github.Config{
				Hosts: mustHosts(t, resolver.DefaultGitHubHost, resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: srv.BaseURL()}),
				Auth:  map[string]github.Auth{"github.com": {Token: "ghp_dotcom"}, "ghe.example.com": {Token: token}},
			})
			require.NoError(t, err)
			return r, func(repo string) tracking.Source {
				return must(tracking.GitHubSource("ghe.example.com", "fixtures", repo))
			}
		},
	})
	var compares int
	for _, req := range srv.Requests() {
		if strings.Contains(req.Path, "/compare/") {
			compares++
			assert.Equal(t, "Bearer "+token, req.Authorization, "the enterprise host's token, on %s", req.Path)
		}
	}
	assert.Positive(t, compares, "the compare API was asked")
}

func TestAncestryRefusesBeforeSending(t *testing.T) {
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return "/nonexistent" }})
	t.Cleanup(srv.Close)
	cfg := hostConfig(t, "github.com", srv.BaseURL())
	r, err := github.New(&cfg)
	require.NoError(t, err)
	src := must(tracking.GitHubSource("", "o", "r"))
	_, err = r.NotAncestors(t.Context(), src, "HEAD", nil)
	assert.ErrorIs(t, err, tracking.ErrInvalidSHA)
	_, err = r.NotAncestors(t.Context(), src, strings.Repeat("a", 40), []string{"main"})
	assert.ErrorIs(t, err, tracking.ErrInvalidSHA)
	other := must(tracking.GitHubSource("ghe.example.com", "o", "r"))
	_, err = r.NotAncestors(t.Context(), other, strings.Repeat("a", 40), nil)
	assert.ErrorIs(t, err, resolver.ErrOtherHost)
	assert.Empty(t, srv.Requests(), "nothing was sent")
}
