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

// fakeHarness connects the resolver to the fake GitHub serving the
// suite's fixture repositories under /api/v3 on github.com; fake adjusts
// the fake's configuration.
func fakeHarness(fake func(*fakegithub.Config)) resolvertest.Harness {
	return resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			cfg := fakegithub.Config{Path: func(_, repo string) string { return repos.Path(repo) }, Prefix: "/api/v3"}
			if fake != nil {
				fake(&cfg)
			}
			srv := fakegithub.Start(cfg)
			t.Cleanup(srv.Close)
			gcfg := hostConfig(t, "github.com", srv.BaseURL())
			r, err := github.New(&gcfg)
			require.NoError(t, err)
			return r, func(repo string) tracking.Source { return must(tracking.GitHubSource("", "fixtures", repo)) }
		},
	}
}

// enterpriseHarness connects the resolver to the fake GitHub as a second
// host of Config.Hosts, ghe.example.com, whose API wants token; github.com
// has a token of its own. Every fake it starts is appended to started, so
// a test can read what each was asked.
func enterpriseHarness(token string, started *[]*fakegithub.Server) resolvertest.Harness {
	return resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			srv := fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return repos.Path(repo) }, Prefix: "/api/v3", Token: token})
			t.Cleanup(srv.Close)
			*started = append(*started, srv)
			r, err := github.New(&github.Config{
				Hosts: mustHosts(t, resolver.DefaultGitHubHost, resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: srv.BaseURL()}),
				Auth:  map[string]github.Auth{"github.com": {Token: "ghp_dotcom"}, "ghe.example.com": {Token: token}},
			})
			require.NoError(t, err)
			return r, func(repo string) tracking.Source {
				return must(tracking.GitHubSource("ghe.example.com", "fixtures", repo))
			}
		},
	}
}

// requestsWithToken returns how many requests to the servers had a path
// containing part, asserting that each carried token.
func requestsWithToken(t *testing.T, servers []*fakegithub.Server, part, token string) int {
	t.Helper()
	n := 0
	for _, srv := range servers {
		for _, req := range srv.Requests() {
			if strings.Contains(req.Path, part) {
				n++
				assert.Equal(t, "Bearer "+token, req.Authorization, "the enterprise host's token, on %s", req.Path)
			}
		}
	}
	return n
}

// TestConformance holds the resolver to the shared suite, with the fake
// GitHub answering from the suite's own fixture repositories, read live.
func TestConformance(t *testing.T) {
	resolvertest.Run(t, fakeHarness(nil))
}
