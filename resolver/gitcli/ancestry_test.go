package gitcli_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestAncestryFile(t *testing.T) {
	t.Parallel()
	resolvertest.RunAncestry(t, fileHarness(true))
}

func TestAncestrySmartHTTP(t *testing.T) {
	t.Parallel()
	resolvertest.RunAncestry(t, smartHTTPHarness(true))
}

func TestAncestryOffByDefault(t *testing.T) {
	t.Parallel()
	r := mustNew(t, &gitcli.Config{AllowFile: true})
	_, err := r.NotAncestors(t.Context(), mustSource(t, "git+file:///nowhere"), strings.Repeat("a", 40), nil)
	assert.ErrorIs(t, err, resolver.ErrUnsupported)
	assert.Contains(t, err.Error(), "set Config.HistoryCacheDir")
}

func TestAncestryRefusesBadCommitsBeforeGit(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	r := mustNew(t, &gitcli.Config{AllowFile: true, HistoryCacheDir: cache, GitPath: "/nonexistent/git"})
	src := mustSource(t, "git+file:///nowhere")
	for _, c := range [][2]string{{"--upload-pack=x", ""}, {strings.Repeat("a", 40), "HEAD"}} {
		shas := []string{}
		if c[1] != "" {
			shas = append(shas, c[1])
		}
		_, err := r.NotAncestors(t.Context(), src, c[0], shas)
		require.ErrorIs(t, err, tracking.ErrInvalidSHA, c)
	}
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing was written")
}

// TestAncestryPrivate runs the force-push cases against private
// repositories (smart HTTP with basic auth, with a bearer token, and ssh
// with a key): the history clone's fetches carry Config.Credentials as
// Resolve and Fetch do, and without them the check fails as unauthorized.
func TestAncestryPrivate(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // where the ssh key files go
	cases := []struct {
		name string
		pick func(t *testing.T, repos *resolvertest.Repos) privateCase
	}{
		{"https basic", func(t *testing.T, repos *resolvertest.Repos) privateCase { return privateCases(t, repos)[0] }},
		{"https bearer", func(t *testing.T, repos *resolvertest.Repos) privateCase { return privateCases(t, repos)[1] }},
		{"ssh key", sshCase},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var creds *staticCredentials
			var src tracking.Source
			resolvertest.RunAncestry(t, resolvertest.Harness{
				New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
					pc := c.pick(t, repos)
					src = pc.source(resolvertest.RepoPlugin)
					creds = &staticCredentials{c: pc.right}
					return mustNew(t, &gitcli.Config{Credentials: creds, HistoryCacheDir: t.TempDir()}), pc.source
				},
			})
			assert.NotEmpty(t, creds.seen, "the history fetches asked for credentials")

			anonymous := mustNew(t, &gitcli.Config{HistoryCacheDir: t.TempDir()})
			_, err := anonymous.NotAncestors(t.Context(), src, strings.Repeat("a", 40), []string{strings.Repeat("b", 40)})
			require.ErrorIs(t, err, resolver.ErrUnauthorized)
			assert.Contains(t, err.Error(), "set gitcli.Config.Credentials")
		})
	}
}
