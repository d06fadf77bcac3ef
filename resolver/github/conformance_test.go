package github_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestConformance holds the resolver to the shared suite, with the fake
// GitHub answering from the suite's own fixture repositories, read live.
func TestConformance(t *testing.T) {
	resolvertest.Run(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			srv := fakegithub.Start(fakegithub.Config{
				Path:   func(_, repo string) string { return repos.Path(repo) },
				Prefix: "/api/v3",
			})
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
