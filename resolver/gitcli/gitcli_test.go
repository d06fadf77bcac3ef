package gitcli_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

func mustHosts(t testing.TB, hosts ...resolver.GitHubHost) resolver.GitHubHosts {
	t.Helper()
	h, err := resolver.NewGitHubHosts(hosts...)
	require.NoError(t, err)
	return h
}

func mustNew(t testing.TB, cfg *gitcli.Config) *gitcli.Resolver {
	t.Helper()
	r, err := gitcli.New(cfg)
	require.NoError(t, err)
	return r
}

// fileHarness is the conformance Harness of git+file:// sources, with a
// history clone per test when history is set.
func fileHarness(history bool) resolvertest.Harness {
	return resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			return mustNew(t, &gitcli.Config{AllowFile: true, HistoryCacheDir: historyDir(t, history)}), func(repo string) tracking.Source {
				return mustSource(t, "git+file://"+repos.Path(repo))
			}
		},
	}
}

// smartHTTPHarness is the conformance Harness of sources served by a smart
// HTTP server, with a history clone per test when history is set.
func smartHTTPHarness(history bool) resolvertest.Harness {
	return resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			base := resolvertest.ServeSmartHTTP(t, repos.Dir())
			return mustNew(t, &gitcli.Config{HistoryCacheDir: historyDir(t, history)}), func(repo string) tracking.Source {
				return mustSource(t, "git+"+base+"/"+repo+".git")
			}
		},
	}
}

// historyDir is a Config.HistoryCacheDir for one test, or "" (off)
// without history.
func historyDir(t *testing.T, history bool) string {
	if !history {
		return ""
	}
	return t.TempDir()
}

func TestNewRefusesNonsense(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  gitcli.Config
		want string
	}{
		{"negative timeout", gitcli.Config{Timeout: -time.Second}, "Config.Timeout is negative (-1s); use 0 for the default"},
		{"negative max fetch bytes", gitcli.Config{MaxFetchBytes: -1}, "Config.MaxFetchBytes is negative (-1); use 0 for the default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := gitcli.New(&tc.cfg)
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.Nil(t, r)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2", "a credential is echoed")
		})
	}
	// The defaults, and zero values that mean them, are accepted.
	for _, cfg := range []*gitcli.Config{nil, {}, {GitHubHosts: mustHosts(t, resolver.GitHubHost{Name: "github.com", GitBaseURL: "http://127.0.0.1:8080/gh/"})}} {
		_, err := gitcli.New(cfg)
		assert.NoError(t, err, "%+v", cfg)
	}
}

func TestConformanceFile(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, fileHarness(false))
}

func TestConformanceSmartHTTP(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, smartHTTPHarness(false))
}

// TestConformanceGitHubScheme reads github://fixtures/<repo> sources from a
// smart HTTP server standing in for github.com's git.
func TestConformanceGitHubScheme(t *testing.T) {
	t.Parallel()
	resolvertest.Run(t, resolvertest.Harness{
		New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
			root := t.TempDir()
			require.NoError(t, os.Symlink(repos.Dir(), filepath.Join(root, "fixtures")))
			base := resolvertest.ServeSmartHTTP(t, root)
			return mustNew(t, &gitcli.Config{GitHubHosts: mustHosts(t, resolver.GitHubHost{Name: "github.com", GitBaseURL: base})}), func(repo string) tracking.Source {
				return mustSource(t, "github://fixtures/"+repo)
			}
		},
	})
}
