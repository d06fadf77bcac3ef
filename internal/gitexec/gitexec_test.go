package gitexec

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunIgnoresHostConfiguration runs git where the host's repository and
// home would configure it, and expects neither to be read.
func TestRunIgnoresHostConfiguration(t *testing.T) {
	host := t.TempDir()
	home := filepath.Join(host, "home")
	repo := filepath.Join(host, "repo")
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".config", "git"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = global\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".config", "git", "config"), []byte("[user]\n\tname = xdg\n"), 0o644))
	r := New(nil)
	require.NoError(t, os.Mkdir(repo, 0o755))
	_, err := r.Run(t.Context(), repo, "init", "--quiet")
	require.NoError(t, err)
	_, err = r.Run(t.Context(), repo, "config", "user.name", "local")
	require.NoError(t, err)

	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_DIR", filepath.Join(repo, ".git"))
	t.Chdir(repo)
	_, err = New(nil).Run(t.Context(), "", "config", "--get", "user.name")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 1, e.ExitCode, "git found a user.name: %s", e.Stderr)

	// The repository's own configuration is read when it is named.
	out, err := r.Run(t.Context(), repo, "config", "--get", "user.name")
	require.NoError(t, err)
	assert.Equal(t, "local\n", string(out))
}

func TestRunErrors(t *testing.T) {
	t.Run("output over the limit", func(t *testing.T) {
		_, err := New(&Config{MaxOutput: 4}).Run(t.Context(), "", "version")
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.EqualError(t, err, "git version: more than 4 bytes of output")
	})
	t.Run("relative repository", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		_, err := New(nil).Run(t.Context(), "repo", "init", "--quiet")
		assert.EqualError(t, err, `gitexec: git init: repository "repo" is not an absolute path`)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "nothing was created")
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := New(nil).Run(ctx, "", "version")
		require.ErrorIs(t, err, context.Canceled)
		assert.EqualError(t, err, "git version: context canceled")
	})
	t.Run("missing binary", func(t *testing.T) {
		_, err := New(&Config{Path: filepath.Join(t.TempDir(), "git")}).Run(t.Context(), "", "version")
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, -1, e.ExitCode)
		assert.True(t, errors.Is(err, fs.ErrNotExist))
	})
	t.Run("failure says why", func(t *testing.T) {
		_, err := New(&Config{AllowFile: true}).Run(t.Context(), "", "ls-remote", "--", "/nonexistent/secret-path.git")
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "git ls-remote: exit status 128: fatal: '/nonexistent/secret-path.git' does not appear to be a git repository", err.Error())
		assert.Contains(t, e.Stderr, "Please make sure you have the correct access rights", "the rest of stderr stays on the error")
		assert.True(t, e.StderrContains("DOES NOT APPEAR"))
		assert.False(t, e.StderrContains("repository not found"))
	})
}

// TestErrorQuotesStderr checks which part of git's standard error the
// message quotes, and how.
func TestErrorQuotesStderr(t *testing.T) {
	long := "fatal: x" + strings.Repeat("é", 150)
	tests := []struct {
		name, stderr, want string
	}{
		{"first non-empty line", "\n  \nfatal: bad object HEAD\nhint: try again\n", "git fetch: exit status 128: fatal: bad object HEAD"},
		{"credentials masked", "fatal: unable to access 'https://deploy:ghp_S3cretT0kenValue1234@git.example.com/acme/x.git/': The requested URL returned error: 403\n",
			"git fetch: exit status 128: fatal: unable to access 'https://***@git.example.com/acme/x.git/': The requested URL returned error: 403"},
		// At most 200 bytes: "fatal: x", the 94 two-byte runes that fit
		// before the 3-byte ellipsis, and the ellipsis.
		{"shortened on a rune boundary", long + "\n", "git fetch: exit status 128: fatal: x" + strings.Repeat("é", 94) + "…"},
		{"control characters replaced", "remote: \x1b[31mdenied\x1b[0m\r\n", "git fetch: exit status 128: remote: ?[31mdenied?[0m"},
		{"nothing written", "", "git fetch: exit status 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stderr := filepath.Join(dir, "stderr")
			require.NoError(t, os.WriteFile(stderr, []byte(tt.stderr), 0o644))
			git := filepath.Join(dir, "git")
			require.NoError(t, os.WriteFile(git, []byte("#!/bin/sh\ncat '"+stderr+"' >&2\nexit 128\n"), 0o755))

			_, err := New(&Config{Path: git}).Run(t.Context(), "", "fetch")
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want, err.Error())
			assert.LessOrEqual(t, len(err.Error()), len("git fetch: exit status 128: ")+maxReason)
			assert.Equal(t, tt.stderr, e.Stderr, "the whole of stderr stays on the error")
		})
	}
}

func TestCappedTruncates(t *testing.T) {
	c := &capped{max: 4, truncate: true}
	n, err := c.Write([]byte("abcdef"))
	require.NoError(t, err)
	assert.Equal(t, 6, n)
	assert.Equal(t, "abcd", c.String())
	assert.True(t, c.overflow)
}
