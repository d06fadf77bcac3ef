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

// TestRunCall: a Call's configuration reaches git through GIT_CONFIG_*
// variables, not its arguments; its Secret through file descriptor 3, read
// once by a credential helper git starts; its Env cannot undo hardening.
func TestRunCall(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "git")
	// Stands in for git: records its arguments, its environment and what
	// a helper reading file descriptor 3 (in a child, as git's helpers
	// are) gets.
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + dir + "/argv'\nenv > '" + dir + "/env'\nsh -c 'cat <&3' > '" + dir + "/secret' 2>/dev/null; exit 0\n"
	require.NoError(t, os.WriteFile(fake, []byte(script), 0o755))
	r := New(&Config{Path: fake})
	_, err := r.RunCall(t.Context(), "", Call{
		Config: []ConfigEntry{{Key: "credential.helper", Value: ""}, {Key: "http.extraHeader", Value: "Authorization: Bearer tok-in-env"}},
		Env:    []string{"GIT_SSH_COMMAND=ssh -i /k", "GIT_TERMINAL_PROMPT=1", "GIT_CONFIG_COUNT=9"},
		Secret: []byte("username=u\npassword=pw-in-pipe\n"),
	}, "ls-remote", "--", "https://example.com/r.git")
	require.NoError(t, err)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}
	assert.Equal(t, "username=u\npassword=pw-in-pipe\n", read("secret"))
	argv := read("argv")
	assert.NotContains(t, argv, "pw-in-pipe")
	assert.NotContains(t, argv, "tok-in-env")
	assert.NotContains(t, argv, "extraHeader")
	env := read("env")
	assert.NotContains(t, env, "pw-in-pipe", "the secret is in no variable")
	for _, kv := range []string{
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=credential.helper", "GIT_CONFIG_VALUE_0=",
		"GIT_CONFIG_KEY_1=http.extraHeader", "GIT_CONFIG_VALUE_1=Authorization: Bearer tok-in-env",
		"GIT_SSH_COMMAND=ssh -i /k",
		"GIT_TERMINAL_PROMPT=0",
	} {
		assert.Contains(t, strings.Split(env, "\n"), kv)
	}

	// Without a Secret, file descriptor 3 is not open; a plain Run sets no
	// configuration.
	_, err = r.Run(t.Context(), "", "ls-remote")
	require.NoError(t, err)
	assert.Empty(t, read("secret"))
	assert.Contains(t, strings.Split(read("env"), "\n"), "GIT_CONFIG_COUNT=0")

	_, err = r.RunCall(t.Context(), "", Call{Secret: make([]byte, MaxSecret+1)}, "ls-remote")
	assert.ErrorContains(t, err, "longer than")
	_, err = r.RunCall(t.Context(), "", Call{Env: []string{"NOEQUALS"}}, "ls-remote")
	assert.ErrorContains(t, err, "is not KEY=value")
}
