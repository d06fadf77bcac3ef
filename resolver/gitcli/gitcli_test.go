package gitcli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

func mustSource(t testing.TB, s string) tracking.Source {
	t.Helper()
	src, err := tracking.ParseSource(s)
	require.NoError(t, err)
	return src
}

func mustRef(t testing.TB, s string) tracking.Ref {
	t.Helper()
	r, err := tracking.ParseRef(s)
	require.NoError(t, err)
	return r
}

func TestConformanceFile(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			return gitcli.New(&gitcli.Config{AllowFile: true}), func(repo string) tracking.Source {
				return mustSource(t, "git+file://"+repos.Path(repo))
			}
		},
	})
}

func TestConformanceSmartHTTP(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			base := resolvertest.ServeSmartHTTP(t, repos.Dir())
			return gitcli.New(nil), func(repo string) tracking.Source {
				return mustSource(t, "git+"+base+"/"+repo+".git")
			}
		},
	})
}

// TestConformanceGitHubScheme reads github://fixtures/<repo> sources from a
// smart HTTP server standing in for GitHubBaseURL.
func TestConformanceGitHubScheme(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			root := t.TempDir()
			require.NoError(t, os.Symlink(repos.Dir(), filepath.Join(root, "fixtures")))
			base := resolvertest.ServeSmartHTTP(t, root)
			return gitcli.New(&gitcli.Config{GitHubBaseURL: base}), func(repo string) tracking.Source {
				return mustSource(t, "github://fixtures/"+repo)
			}
		},
	})
}
