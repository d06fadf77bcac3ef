package gitcli_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/tracking"
)

// fakeGit writes an executable standing in for git: it appends its
// arguments (one per line, then a line "--end--") to the returned log,
// then runs body.
func fakeGit(t *testing.T, body string) (path, log string) {
	t.Helper()
	dir := t.TempDir()
	path, log = filepath.Join(dir, "git"), filepath.Join(dir, "invocations.log")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '" + log + "'; done\necho --end-- >> '" + log + "'\n" + body + "\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path, log
}

func readLog(t *testing.T, log string) string {
	t.Helper()
	b, err := os.ReadFile(log)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	require.NoError(t, err)
	return string(b)
}

const someSHA = "0123456789abcdef0123456789abcdef01234567"

func TestHostileInputNeverReachesGit(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath, AllowFile: true})
	good := mustSource(t, "git+https://example.com/acme/plugin.git")
	main := mustRef(t, "branch:main")

	// Hostile refs and sources cannot be built: the parsers refuse them,
	// and tracking.Source and tracking.Ref have no other constructor, so
	// no Request carries one.
	for _, ref := range []string{
		"-x", "--upload-pack=touch /tmp/pwn", "tag:--upload-pack=touch", "../../etc/passwd", "a..b",
		"tag:v1\nrefs/heads/x", "tag:v1\x00", "main@{1}", "*", "tag:refs/tags/v1", "semver:--exec=sh", "exec:sh",
	} {
		_, err := tracking.ParseRef(ref)
		assert.ErrorIs(t, err, tracking.ErrInvalidRef, "%q", ref)
	}
	for _, src := range []string{
		"git+-x", "git+ext::sh -c touch% /tmp/pwn", "fd::17", "git+https://user:secret@example.com/a/b.git",
		"git+https://token@example.com/a/b.git", "git+ssh://git:secret@example.com/a/b.git",
		"git+ssh://-oProxyCommand=touch%20/tmp/pwn/a/b.git", "git+ssh://-oProxyCommand@example.com/a/b.git",
		"git+file:///tmp/../etc/repo.git", "git+https://example.com/a/../b.git", "git+https://example.com/a/b.git\n--upload-pack=x",
		"git+https://example.com/a b.git", "git://example.com/a/b.git", "git@example.com:a/b.git", "/tmp/repo.git",
		"github://-x/plugin", "github://acme/..", "github://acme/../../x",
	} {
		_, err := tracking.ParseSource(src)
		assert.ErrorIs(t, err, tracking.ErrInvalidSource, "%q", src)
	}

	// What can be built but has nothing to resolve is refused before git
	// runs: untracked refs, sources without upstream.
	for _, ref := range []tracking.Ref{{}, mustRef(t, "sha:"+someSHA)} {
		_, err := r.Resolve(t.Context(), resolver.Request{Source: good, Ref: ref})
		assert.ErrorIs(t, err, resolver.ErrUnsupported, "%s", ref)
	}
	for _, src := range []tracking.Source{mustSource(t, "local://plugin"), {}} {
		_, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: main})
		assert.ErrorIs(t, err, resolver.ErrUnsupported, "%s", src)
		err = r.Fetch(t.Context(), src, someSHA, filepath.Join(t.TempDir(), "out"))
		assert.ErrorIs(t, err, resolver.ErrUnsupported, "%s", src)
	}

	for _, sha := range []string{"--upload-pack=touch /tmp/pwn", "-x", "HEAD", "main", someSHA[:39], strings.ToUpper(someSHA), someSHA + "\n"} {
		err := r.Fetch(t.Context(), good, sha, filepath.Join(t.TempDir(), "out"))
		assert.ErrorIs(t, err, tracking.ErrInvalidSHA, "%q", sha)
	}

	// file sources are refused unless allowed.
	noFile := mustNew(t, &gitcli.Config{GitPath: gitPath})
	fileSrc := mustSource(t, "git+file:///srv/repo.git")
	_, err := noFile.Resolve(t.Context(), resolver.Request{Source: fileSrc, Ref: main})
	assert.ErrorIs(t, err, resolver.ErrUnsupported)
	assert.ErrorIs(t, noFile.Fetch(t.Context(), fileSrc, someSHA, filepath.Join(t.TempDir(), "out")), resolver.ErrUnsupported)

	require.Empty(t, readLog(t, log), "git ran for a hostile request")

	// The log works: a valid request runs git, with "--" before the URL.
	_, err = r.Resolve(t.Context(), resolver.Request{Source: good, Ref: main})
	require.ErrorIs(t, err, resolver.ErrNotFound, "the fake git answers nothing")
	assert.Contains(t, readLog(t, log), "ls-remote\n--\nhttps://example.com/acme/plugin.git\nrefs/heads/main\n--end--")
}

func TestGitArguments(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath, GitHubHosts: mustHosts(t, resolver.GitHubHost{Name: "github.com", GitBaseURL: "https://ghe.example.com/"})})
	src := mustSource(t, "github://acme/plugin")
	for _, ref := range []tracking.Ref{mustRef(t, "tag:v1.2.3"), mustRef(t, "head"), mustRef(t, "semver:^1.2")} {
		_, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: ref})
		require.ErrorIs(t, err, resolver.ErrNotFound)
	}
	calls := strings.Split(strings.TrimSuffix(readLog(t, log), "--end--\n"), "--end--\n")
	require.Len(t, calls, 3)
	hardening := "-c\nprotocol.file.allow=never\n"
	url := "https://ghe.example.com/acme/plugin.git"
	assert.Equal(t, calls[0][strings.Index(calls[0], "ls-remote"):], "ls-remote\n--\n"+url+"\nrefs/tags/v1.2.3\nrefs/tags/v1.2.3^{}\n")
	assert.Equal(t, calls[1][strings.Index(calls[1], "ls-remote"):], "ls-remote\n--symref\n--\n"+url+"\nHEAD\n")
	assert.Equal(t, calls[2][strings.Index(calls[2], "ls-remote"):], "ls-remote\n--tags\n--\n"+url+"\n")
	for _, c := range calls {
		assert.True(t, strings.HasPrefix(c, hardening), "options come first: %q", c)
	}
}

func TestGitEnvironment(t *testing.T) {
	gitPath, _ := fakeGit(t, `env > "$(dirname "$0")/env"`)
	t.Setenv("GIT_DIR", "/host/repo/.git")
	t.Setenv("GIT_SSH_COMMAND", "ssh -o ProxyCommand=evil")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.sshcommand=evil'")
	t.Setenv("GIT_ASKPASS", "/usr/bin/evil-askpass")
	t.Setenv("GIT_TRACE", "1")
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "core.sshCommand")
	t.Setenv("GIT_CONFIG_VALUE_0", "evil")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath})
	_, err := r.Resolve(t.Context(), resolver.Request{
		Source: mustSource(t, "git+https://example.com/a/b.git"),
		Ref:    mustRef(t, "branch:main"),
	})
	require.ErrorIs(t, err, resolver.ErrNotFound)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(gitPath), "env"))
	require.NoError(t, err)
	env := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	for k, v := range map[string]string{
		"GIT_TERMINAL_PROMPT":    "0",
		"GIT_ASKPASS":            "",
		"SSH_ASKPASS":            "",
		"LC_ALL":                 "C",
		"GIT_ALLOW_PROTOCOL":     "https:http:ssh",
		"GIT_CONFIG_NOSYSTEM":    "1",
		"GIT_CONFIG_GLOBAL":      "/dev/null",
		"GIT_SSH_COMMAND":        "ssh -o BatchMode=yes",
		"GIT_CONFIG_COUNT":       "0",
		"GIT_DIR":                "/dev/null/plugindrift-no-repository",
		"GIT_PROTOCOL_FROM_USER": "0",
	} {
		got, ok := env[k]
		assert.True(t, ok, "%s unset", k)
		assert.Equal(t, v, got, k)
	}
	for _, k := range []string{"GIT_CONFIG_PARAMETERS", "GIT_TRACE", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"} {
		assert.NotContains(t, env, k)
	}
}

// TestStderrInTheMessage checks that a message quotes only the first line
// of git's standard error, with credentials masked.
func TestStderrInTheMessage(t *testing.T) {
	gitPath, _ := fakeGit(t, "printf '%s\\n' 'fatal: unable to access https://deploy:secret-detail@internal.example/' 'more-detail' >&2; exit 128")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath})
	_, err := r.Resolve(t.Context(), resolver.Request{
		Source: mustSource(t, "git+https://example.com/a/b.git"),
		Ref:    mustRef(t, "head"),
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), ": fatal: unable to access https://***@internal.example/")
	assert.NotContains(t, err.Error(), "secret-detail")
	assert.NotContains(t, err.Error(), "more-detail")
	assert.NotErrorIs(t, err, resolver.ErrNotFound)
	var ce *gitcli.CommandError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, ce.Stderr, "secret-detail")
	assert.Equal(t, 128, ce.ExitCode)
	assert.Equal(t, "ls-remote", ce.Command)
}

func TestNotFoundMessages(t *testing.T) {
	for _, stderr := range []string{
		"remote: Repository not found.\nfatal: repository 'https://github.com/a/b.git/' not found",
		"fatal: '/srv/b.git' does not appear to be a git repository",
		"fatal: unable to access 'https://example.com/b.git/': The requested URL returned error: 404",
	} {
		gitPath, _ := fakeGit(t, "printf '%s\\n' '"+strings.ReplaceAll(stderr, "'", `'"'"'`)+"' >&2; exit 128")
		r := mustNew(t, &gitcli.Config{GitPath: gitPath})
		_, err := r.Resolve(t.Context(), resolver.Request{
			Source: mustSource(t, "git+https://example.com/a/b.git"),
			Ref:    mustRef(t, "tag:latest"),
		})
		require.ErrorIs(t, err, resolver.ErrNotFound, stderr)
		var ce *gitcli.CommandError
		assert.ErrorAs(t, err, &ce, "the git error stays in the chain")
	}
}

func TestMalformedOutputIsRefused(t *testing.T) {
	for _, out := range []string{
		"not-a-sha\trefs/heads/main",
		"0123456789ABCDEF0123456789ABCDEF01234567\trefs/heads/main",
		"garbage without a tab",
	} {
		gitPath, _ := fakeGit(t, "printf '%s\\n' '"+out+"'")
		r := mustNew(t, &gitcli.Config{GitPath: gitPath})
		res, err := r.Resolve(t.Context(), resolver.Request{
			Source: mustSource(t, "git+https://example.com/a/b.git"),
			Ref:    mustRef(t, "branch:main"),
		})
		require.Error(t, err, "%q gave %+v", out, res)
		assert.NotErrorIs(t, err, resolver.ErrNotFound)
	}
}

func TestTimeout(t *testing.T) {
	gitPath, _ := fakeGit(t, "exec sleep 30")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := r.Resolve(t.Context(), resolver.Request{
		Source: mustSource(t, "git+https://example.com/a/b.git"),
		Ref:    mustRef(t, "head"),
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "timed out after 100ms")
	assert.Less(t, time.Since(start), 10*time.Second, "the sleeping git was not killed")
}

func TestUnchangedWhenKnown(t *testing.T) {
	const tip = "89abcdef0123456789abcdef0123456789abcdef"
	gitPath, _ := fakeGit(t, "printf '%s\\trefs/heads/main\\n' "+tip)
	r := mustNew(t, &gitcli.Config{GitPath: gitPath})
	req := resolver.Request{
		Source: mustSource(t, "git+https://example.com/a/b.git"),
		Ref:    mustRef(t, "branch:main"),
	}
	res, err := r.Resolve(t.Context(), req)
	require.NoError(t, err)
	assert.False(t, res.Unchanged)
	assert.Equal(t, resolver.Result{SHA: tip, Revision: "main@sha1:" + tip}, res)

	req.Known = resolver.Known{SHA: tip}
	res, err = r.Resolve(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, resolver.Result{SHA: tip, Revision: "main@sha1:" + tip, Unchanged: true}, res)

	req.Known = resolver.Known{SHA: someSHA}
	res, err = r.Resolve(t.Context(), req)
	require.NoError(t, err)
	assert.False(t, res.Unchanged)
}

// TestGitHubHosts: github://owner/repo is read from the default host's
// GitBaseURL, a source naming a listed host from that host's, and one
// naming a host not listed from that host itself, never from another.
func TestGitHubHosts(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	hosts := mustHosts(t,
		resolver.GitHubHost{Name: "github.com", GitBaseURL: "https://mirror.example.com/gh"},
		resolver.GitHubHost{Name: "ghe.example.com"},
		resolver.GitHubHost{Name: "ghe2.example.com", GitBaseURL: "http://10.0.0.2:8080/git/"},
	)
	r := mustNew(t, &gitcli.Config{GitPath: gitPath, GitHubHosts: hosts})
	for _, c := range []struct{ source, remote string }{
		{"github://acme/plugin", "https://mirror.example.com/gh/acme/plugin.git"},
		{"github://github.com/acme/plugin", "https://mirror.example.com/gh/acme/plugin.git"},
		{"github://GHE.example.com/acme/plugin", "https://ghe.example.com/acme/plugin.git"},
		{"github://ghe2.example.com/acme/plugin", "http://10.0.0.2:8080/git/acme/plugin.git"},
		{"github://other.example.com:8443/acme/plugin", "https://other.example.com:8443/acme/plugin.git"},
	} {
		_, err := r.Resolve(t.Context(), resolver.Request{Source: mustSource(t, c.source), Ref: mustRef(t, "branch:main")})
		require.ErrorIs(t, err, resolver.ErrNotFound, c.source)
		calls := strings.Split(strings.TrimSuffix(readLog(t, log), "--end--\n"), "--end--\n")
		last := calls[len(calls)-1]
		assert.Equal(t, "ls-remote\n--\n"+c.remote+"\nrefs/heads/main\n", last[strings.Index(last, "ls-remote"):], c.source)
	}
}
