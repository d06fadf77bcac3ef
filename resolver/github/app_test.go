package github_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

const (
	testAppID          = 4242
	testInstallationID = 777
)

// testAppKey returns a fresh RSA key and its PEM form, as GitHub issues it.
func testAppKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

// TestAppOverAPIAndGit: one GitHub App installation reaches a private
// repository over the API (the github resolver) and over git (gitcli's
// Credentials, for github:// sources). The fake API mints installation
// tokens only for a JWT signed with the App's key, each lasting less than
// the minute ghinstallation refreshes ahead, so every use mints a new one:
// the token is refreshed on expiry, and only the current one is accepted.
func TestAppOverAPIAndGit(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	key, keyPEM := testAppKey(t)
	api := fakegithub.Start(fakegithub.Config{
		Path:   func(_, repo string) string { return repos.Path(repo) },
		Prefix: "/api/v3",
		App:    &fakegithub.App{ID: testAppID, InstallationID: testInstallationID, PublicKey: &key.PublicKey, TokenTTL: 30 * time.Second},
	})
	t.Cleanup(api.Close)
	gitRoot := t.TempDir()
	require.NoError(t, os.Symlink(repos.Dir(), filepath.Join(gitRoot, "fixtures")))
	gitBase := resolvertest.ServePrivateSmartHTTP(t, gitRoot, resolvertest.HTTPAuth{Basic: func(user, pass string) bool {
		return user == "x-access-token" && api.ValidToken(pass)
	}})

	hosts := mustHosts(t, resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: api.BaseURL(), GitBaseURL: gitBase})
	app, err := github.NewApp(hosts.Default(), testAppID, testInstallationID, keyPEM, nil)
	require.NoError(t, err)
	var logs bytes.Buffer
	r, err := github.New(&github.Config{
		Hosts:  hosts,
		Auth:   map[string]github.Auth{"ghe.example.com": {App: app}},
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	git, err := gitcli.New(&gitcli.Config{GitHubHosts: hosts, Credentials: app})
	require.NoError(t, err)

	src := must(tracking.GitHubSource("", "fixtures", resolvertest.RepoPlugin))
	want := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	for _, res := range []resolver.Resolver{r, git, r} {
		got, err := res.Resolve(t.Context(), resolver.Request{Source: src, Ref: branch("main")})
		require.NoError(t, err, "%T", res)
		assert.Equal(t, want, got.SHA)
	}
	require.NoError(t, git.Fetch(t.Context(), src, want, filepath.Join(t.TempDir(), "out")))

	var repoRequests []fakegithub.Request
	for _, req := range api.Requests() {
		if strings.Contains(req.Path, "/repos/") {
			repoRequests = append(repoRequests, req)
		}
	}
	require.Len(t, repoRequests, 2)
	tokens := map[string]bool{}
	for _, req := range repoRequests {
		assert.Equal(t, http.StatusOK, req.Status)
		require.True(t, strings.HasPrefix(req.Authorization, "token ghs_"), "sent as Authorization: token …, got %q", req.Authorization)
		tokens[req.Authorization] = true
	}
	assert.Len(t, tokens, 2, "each API request carried a freshly minted token")
	assert.Equal(t, 4, api.Minted(), "one token per use: two API resolutions, one ls-remote, one fetch")
	for _, req := range repoRequests {
		assert.NotContains(t, logs.String(), strings.TrimPrefix(req.Authorization, "token "))
	}

	// A key that is not the App's mints nothing: the API refuses the JWT.
	_, otherPEM := testAppKey(t)
	impostor, err := github.NewApp(hosts.Default(), testAppID, testInstallationID, otherPEM, nil)
	require.NoError(t, err)
	r2, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{"ghe.example.com": {App: impostor}}})
	require.NoError(t, err)
	_, err = r2.Resolve(t.Context(), resolver.Request{Source: src, Ref: branch("main")})
	require.ErrorIs(t, err, resolver.ErrUnauthorized)
	assert.Contains(t, err.Error(), "check the App id, the installation id and that the private key is the App's current one")
	git2, err := gitcli.New(&gitcli.Config{GitHubHosts: hosts, Credentials: impostor})
	require.NoError(t, err)
	_, err = git2.Resolve(t.Context(), resolver.Request{Source: src, Ref: branch("main")})
	require.ErrorIs(t, err, resolver.ErrUnauthorized)

	// The App's token goes to github:// sources on its host only.
	cred, err := app.Credential(t.Context(), gitcli.CredentialRequest{Source: must(tracking.ParseSource("git+https://ghe.example.com/fixtures/plugin.git")), Transport: "https", Host: "ghe.example.com"})
	require.NoError(t, err)
	assert.True(t, cred.IsZero())
	other := must(tracking.GitHubSource("github.com", "fixtures", "plugin"))
	cred, err = app.Credential(t.Context(), gitcli.CredentialRequest{Source: other, Transport: "https", Host: "github.com", GitHub: resolver.DefaultGitHubHost})
	require.NoError(t, err)
	assert.True(t, cred.IsZero())
}

func TestNewAppRefusesNonsense(t *testing.T) {
	_, keyPEM := testAppKey(t)
	for name, c := range map[string]struct {
		appID, installationID int64
		key                   []byte
		want                  string
	}{
		"no app id":          {0, 1, keyPEM, "must be positive"},
		"no installation id": {1, -1, keyPEM, "must be positive"},
		"not a key":          {1, 1, []byte("-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END RSA PRIVATE KEY-----\n"), "not an RSA key in PEM form"},
	} {
		_, err := github.NewApp(resolver.DefaultGitHubHost, c.appID, c.installationID, c.key, nil)
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
		assert.Contains(t, err.Error(), c.want, name)
		assert.NotContains(t, err.Error(), "c2VjcmV0", name)
	}
	// An App is for its own host's API.
	app, err := github.NewApp(resolver.DefaultGitHubHost, 1, 1, keyPEM, nil)
	require.NoError(t, err)
	_, err = github.New(&github.Config{
		Hosts: mustHosts(t, resolver.DefaultGitHubHost, resolver.GitHubHost{Name: "ghe.example.com"}),
		Auth:  map[string]github.Auth{"ghe.example.com": {App: app}},
	})
	require.ErrorIs(t, err, tracking.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "was made for the API at api.github.com")
}

// TestHostsSideBySide: github.com and two Enterprise hosts in one
// resolver, each with its own API and its own authentication (a token, the
// host's own go-github client, an *http.Client), none of whose requests or
// credentials reach another.
func TestHostsSideBySide(t *testing.T) {
	dir := t.TempDir()
	path := func(_, repo string) string { return filepath.Join(dir, repo+".git") }
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "main")
	require.NoError(t, err)
	tip := commit(t, repo, "main", "one")

	dotcom := fakegithub.Start(fakegithub.Config{Path: path, Token: "ghp_dotcom"})
	t.Cleanup(dotcom.Close)
	ghe := fakegithub.Start(fakegithub.Config{Path: path, Prefix: "/api/v3", Token: "ghp_ghe"})
	t.Cleanup(ghe.Close)
	ghe2 := fakegithub.Start(fakegithub.Config{Path: path, Prefix: "/api/v3", Token: "ghp_ghe2"})
	t.Cleanup(ghe2.Close)
	hosts := mustHosts(t,
		resolver.GitHubHost{Name: "github.com", APIBaseURL: dotcom.BaseURL()},
		resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: ghe.BaseURL()},
		resolver.GitHubHost{Name: "ghe2.example.com:8443", APIBaseURL: ghe2.BaseURL()},
	)
	r, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{
		"github.com":            {Token: "ghp_dotcom"},
		"ghe.example.com":       {Client: gogithub.NewClient(nil).WithAuthToken("ghp_ghe")},
		"ghe2.example.com:8443": {HTTPClient: &http.Client{Transport: headerTransport{"Authorization", "token ghp_ghe2"}}},
	}})
	require.NoError(t, err)

	for _, c := range []struct {
		host string
		srv  *fakegithub.Server
	}{{"", dotcom}, {"github.com", dotcom}, {"ghe.example.com", ghe}, {"ghe2.example.com:8443", ghe2}} {
		dotcom.ResetRequests()
		ghe.ResetRequests()
		ghe2.ResetRequests()
		res, err := r.Resolve(t.Context(), resolver.Request{Source: must(tracking.GitHubSource(c.host, "acme", "widget")), Ref: branch("main")})
		require.NoError(t, err, c.host)
		assert.Equal(t, tip, res.SHA)
		for _, srv := range []*fakegithub.Server{dotcom, ghe, ghe2} {
			if srv == c.srv {
				require.Len(t, srv.Requests(), 1, c.host)
				assert.Equal(t, http.StatusOK, srv.Requests()[0].Status, "the host's own credentials were sent")
			} else {
				assert.Empty(t, srv.Requests(), "a request for %q went to another host", c.host)
			}
		}
	}
	_, err = r.Resolve(t.Context(), resolver.Request{Source: must(tracking.GitHubSource("ghe3.example.com", "acme", "widget")), Ref: branch("main")})
	require.ErrorIs(t, err, resolver.ErrOtherHost)
	assert.Contains(t, err.Error(), "add the host to Config.Hosts")

	// Another host's token is refused there, as unauthorized.
	wrong, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{"ghe.example.com": {Token: "ghp_dotcom"}}})
	require.NoError(t, err)
	_, err = wrong.Resolve(context.Background(), resolver.Request{Source: must(tracking.GitHubSource("ghe.example.com", "acme", "widget")), Ref: branch("main")})
	require.ErrorIs(t, err, resolver.ErrUnauthorized)
	require.NotErrorIs(t, err, resolver.ErrNotFound)
	assert.NotContains(t, fmt.Sprint(err), "ghp_dotcom")
}

// headerTransport sets one header on every request.
type headerTransport struct{ name, value string }

func (h headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set(h.name, h.value)
	return http.DefaultTransport.RoundTrip(req)
}
