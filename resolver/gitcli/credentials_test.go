package gitcli_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// Secrets of the private servers. Each is distinctive, so finding it in
// any text is a leak.
const (
	basicUser     = "deploy-bot"
	basicPassword = "pw-7f3a9c1e5b2d8046"
	bearerToken   = "tok-4e8b2a6c9d1f7350"
)

// staticCredentials answers every request with c and counts the requests.
type staticCredentials struct {
	c    gitcli.Credential
	mu   sync.Mutex
	seen []gitcli.CredentialRequest
}

func (s *staticCredentials) Credential(_ context.Context, req gitcli.CredentialRequest) (gitcli.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, req)
	return s.c, nil
}

// privateCase is one way of reaching a private repository: the server,
// the source of a fixture repository on it, the right credential and
// wrong ones.
type privateCase struct {
	name   string
	source func(repo string) tracking.Source
	right  gitcli.Credential
	wrong  []gitcli.Credential
	// keyLines are the secret lines of the case's private key, if any.
	keyLines []string
}

func privateCases(t *testing.T, repos *resolvertest.Repos) []privateCase {
	basic := resolvertest.ServePrivateSmartHTTP(t, repos.Dir(), resolvertest.HTTPAuth{Username: basicUser, Password: basicPassword})
	bearer := resolvertest.ServePrivateSmartHTTP(t, repos.Dir(), resolvertest.HTTPAuth{BearerToken: bearerToken})
	cases := []privateCase{
		{
			name:   "https basic",
			source: func(repo string) tracking.Source { return mustSource(t, "git+"+basic+"/"+repo+".git") },
			right:  gitcli.Basic(basicUser, basicPassword),
			wrong:  []gitcli.Credential{gitcli.Basic(basicUser, "pw-wrong-0000"), gitcli.Basic("someone-else", basicPassword)},
		},
		{
			name:   "https bearer",
			source: func(repo string) tracking.Source { return mustSource(t, "git+"+bearer+"/"+repo+".git") },
			right:  gitcli.Bearer(bearerToken),
			wrong:  []gitcli.Credential{gitcli.Bearer("tok-wrong-0000")},
		},
	}
	return cases
}

func sshCase(t *testing.T, repos *resolvertest.Repos) privateCase {
	sshd := resolvertest.StartSSHD(t, repos.Dir())
	emptyKnownHosts := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(emptyKnownHosts, nil, 0o600))
	return privateCase{
		name:   "ssh key",
		source: func(repo string) tracking.Source { return mustSource(t, sshd.URL(repo)) },
		right:  gitcli.SSHKey(sshd.Key, sshd.KnownHostsFile),
		wrong: []gitcli.Credential{
			gitcli.SSHKey(sshd.OtherKey, sshd.KnownHostsFile), // a key the server does not accept
			gitcli.SSHKey(sshd.Key, emptyKnownHosts),          // a server whose host key is not known
		},
		keyLines: keyLines(sshd.Key),
	}
}

// TestPrivateRemotes resolves and fetches a private repository over a real
// smart HTTP server demanding basic auth, one demanding a bearer token,
// and a real sshd demanding a key; without credentials or with wrong ones
// each fails with resolver.ErrUnauthorized, not resolver.ErrNotFound, and
// says what to configure. The private key file lives only as long as the
// git call.
func TestPrivateRemotes(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the ssh key files go
	cases := append(privateCases(t, repos), sshCase(t, repos))
	main := mustRef(t, "branch:main")
	want := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.source(resolvertest.RepoPlugin)
			creds := &staticCredentials{c: c.right}
			r := mustNew(t, &gitcli.Config{Credentials: creds})
			res, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: main})
			require.NoError(t, err)
			assert.Equal(t, want, res.SHA)
			for _, ref := range []string{"head", "tag:latest", "tag:v1.2.0"} {
				_, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: mustRef(t, ref)})
				require.NoError(t, err, ref)
			}
			dir := filepath.Join(t.TempDir(), "out")
			require.NoError(t, r.Fetch(t.Context(), src, want, dir))
			assert.DirExists(t, dir)
			assert.NoDirExists(t, filepath.Join(dir, ".git"))
			require.Len(t, creds.seen, 5, "asked once per git call that reaches the remote")
			assert.Equal(t, src, creds.seen[0].Source)
			assert.Equal(t, src.Host(), creds.seen[0].Host)
			assert.Equal(t, src.Transport(), creds.seen[0].Transport)

			missing := mustSource(t, strings.Replace(src.String(), "/plugin.git", "/missing.git", 1))
			_, err = r.Resolve(t.Context(), resolver.Request{Source: missing, Ref: main})
			require.ErrorIs(t, err, resolver.ErrNotFound, "right credentials, missing repository")
			require.NotErrorIs(t, err, resolver.ErrUnauthorized)

			anonymous := mustNew(t, nil)
			_, err = anonymous.Resolve(t.Context(), resolver.Request{Source: src, Ref: main})
			require.ErrorIs(t, err, resolver.ErrUnauthorized)
			require.NotErrorIs(t, err, resolver.ErrNotFound)
			assert.Contains(t, err.Error(), "none are configured; set gitcli.Config.Credentials")
			require.ErrorIs(t, anonymous.Fetch(t.Context(), src, want, filepath.Join(t.TempDir(), "out")), resolver.ErrUnauthorized)

			for _, wrong := range c.wrong {
				r := mustNew(t, &gitcli.Config{Credentials: &staticCredentials{c: wrong}})
				_, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: main})
				require.ErrorIs(t, err, resolver.ErrUnauthorized, "%v", wrong)
				require.NotErrorIs(t, err, resolver.ErrNotFound)
				assert.Contains(t, err.Error(), "refused the credentials from gitcli.Config.Credentials")
				out := filepath.Join(t.TempDir(), "out")
				require.ErrorIs(t, r.Fetch(t.Context(), src, want, out), resolver.ErrUnauthorized)
				assert.NoDirExists(t, out)
			}
			keyDirs, err := filepath.Glob(filepath.Join(tmp, "plugindrift-ssh-*"))
			require.NoError(t, err)
			assert.Empty(t, keyDirs, "a key file outlived its git call")
		})
	}
}

// TestCredentialsNeverExposed runs every private case, right and wrong
// credentials, through a git wrapper that records each argv and through a
// sweep whose log is captured: no secret appears in any argv, log line,
// error or report. (A bearer token is in the environment of the git
// process, as http.extraHeader; see the package documentation.)
func TestCredentialsNeverExposed(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	cases := append(privateCases(t, repos), sshCase(t, repos))
	realGit, err := exec.LookPath("git")
	require.NoError(t, err)
	dir := t.TempDir()
	argvLog := filepath.Join(dir, "argv.log")
	wrapper := filepath.Join(dir, "git")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '"+argvLog+"'\nexec '"+realGit+"' \"$@\"\n"), 0o755))

	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secrets := []string{basicPassword, bearerToken, "pw-wrong-0000", "tok-wrong-0000"}
	var texts []string
	ctx := t.Context()
	for _, c := range cases {
		secrets = append(secrets, c.keyLines...)
		for _, cred := range append([]gitcli.Credential{c.right, {}}, c.wrong...) {
			texts = append(texts, cred.String())
			r := mustNew(t, &gitcli.Config{GitPath: wrapper, Credentials: &staticCredentials{c: cred}})
			store := memstore.New()
			tracker, err := tracking.NewTracker(store, nil)
			require.NoError(t, err)
			src := c.source(resolvertest.RepoPlugin)
			_, err = tracker.RecordInstall(ctx, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "plugin", Source: src.String(), Ref: "head", SHA: someSHA})
			require.NoError(t, err)
			sweeper, err := drift.NewSweeper(store, r, &drift.SweeperConfig{Logger: logger})
			require.NoError(t, err)
			report, err := sweeper.RunOnce(ctx)
			require.NoError(t, err)
			for _, e := range report.Errors {
				texts = append(texts, e.Error)
			}
			err = r.Fetch(ctx, src, repos.SHA(resolvertest.RepoPlugin, "refs/heads/main"), filepath.Join(t.TempDir(), "out"))
			if err != nil {
				texts = append(texts, err.Error())
			}
		}
	}
	argv, err := os.ReadFile(argvLog)
	require.NoError(t, err)
	require.Contains(t, string(argv), "ls-remote", "the wrapper saw no git call")
	require.Contains(t, logs.String(), "failed=1", "the sweep logged no failure")
	texts = append(texts, string(argv), logs.String())
	for _, text := range texts {
		for _, secret := range secrets {
			assert.NotContains(t, text, secret)
		}
	}
}

// keyLines returns the base64 lines of a private key.
func keyLines(key []byte) []string {
	var lines []string
	for line := range strings.Lines(string(key)) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "-----") {
			lines = append(lines, line)
		}
	}
	return lines
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// TestCredentialsOfTheWrongKind are refused before git runs, without the
// secret in the message; an error of the provider fails the call.
func TestCredentialsOfTheWrongKind(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	https := mustSource(t, "git+https://example.com/a/b.git")
	ssh := mustSource(t, "git+ssh://git@example.com/a/b.git")
	for _, c := range []struct {
		src  tracking.Source
		cred gitcli.Credential
		want string
	}{
		{https, gitcli.SSHKey([]byte("key"), "/known_hosts"), "an SSH key for a remote reached over https"},
		{ssh, gitcli.Basic("u", basicPassword), "an HTTPS credential (Basic or Bearer) for a remote reached over ssh"},
		{ssh, gitcli.Bearer(bearerToken), "an HTTPS credential"},
		{https, gitcli.Basic("u", basicPassword+"\nprotocol=evil"), "line break"},
		{https, gitcli.Basic("", basicPassword), "empty user name"},
		{https, gitcli.Bearer(bearerToken + " x"), "spaces or control characters"},
		{ssh, gitcli.SSHKey(nil, "/known_hosts"), "without key material"},
		{ssh, gitcli.SSHKey([]byte("key"), "known_hosts"), "absolute known_hosts path"},
	} {
		r := mustNew(t, &gitcli.Config{GitPath: gitPath, Credentials: &staticCredentials{c: c.cred}})
		_, err := r.Resolve(t.Context(), resolver.Request{Source: c.src, Ref: mustRef(t, "head")})
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, c.want)
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), basicPassword)
		assert.NotContains(t, err.Error(), bearerToken)
	}
	boom := errors.New("vault sealed")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath, Credentials: gitcli.CredentialsFunc(func(context.Context, gitcli.CredentialRequest) (gitcli.Credential, error) {
		return gitcli.Credential{}, boom
	})})
	_, err := r.Resolve(t.Context(), resolver.Request{Source: https, Ref: mustRef(t, "head")})
	require.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "gitcli: credentials for example.com")
	assert.Empty(t, readLog(t, log), "git ran")
}
