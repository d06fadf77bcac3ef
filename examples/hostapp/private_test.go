package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestPrivateFlags: PLUGINDRIFT_GIT_TOKEN reaches a private https remote
// on -git-token-host, and -ssh-key with -ssh-known-hosts a private ssh
// one; flags that go together are refused apart.
func TestPrivateFlags(t *testing.T) {
	t.Setenv("PLUGINDRIFT_ADMIN_TOKEN", "long-enough-secret")
	repos := resolvertest.NewRepos(t)
	base := resolvertest.ServePrivateSmartHTTP(t, repos.Dir(), resolvertest.HTTPAuth{Username: "x-access-token", Password: "tok-hostapp-1"})
	sshd := resolvertest.StartSSHD(t, repos.Dir())
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	require.NoError(t, os.WriteFile(keyFile, sshd.Key, 0o600))
	want := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	ref, err := tracking.ParseRef("branch:main")
	require.NoError(t, err)

	t.Setenv("PLUGINDRIFT_GIT_TOKEN", "tok-hostapp-1")
	cfg, err := loadConfig([]string{"-git-token-host", "127.0.0.1:" + base[len("http://127.0.0.1:"):], "-ssh-key", keyFile, "-ssh-known-hosts", sshd.KnownHostsFile})
	require.NoError(t, err)
	git, gh, err := cfg.private.resolvers(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Same(t, git, gh, "without API credentials github:// goes through git")
	for _, source := range []string{"git+" + base + "/plugin.git", sshd.URL(resolvertest.RepoPlugin)} {
		src, err := tracking.ParseSource(source)
		require.NoError(t, err)
		res, err := git.Resolve(t.Context(), resolver.Request{Source: src, Ref: ref})
		require.NoError(t, err, source)
		assert.Equal(t, want, res.SHA)
	}

	for name, args := range map[string][]string{
		"ssh key without known hosts": {"-ssh-key", keyFile},
		"app without its key":         {"-github-app-id", "1", "-github-installation-id", "2"},
	} {
		_, err := loadConfig(args)
		assert.Error(t, err, name)
	}
	t.Setenv("PLUGINDRIFT_GIT_TOKEN", "tok-hostapp-1")
	_, err = loadConfig(nil)
	assert.ErrorContains(t, err, "PLUGINDRIFT_GIT_TOKEN and -git-token-host go together")
}
