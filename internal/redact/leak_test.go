package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// This file feeds inputs that carry a credential to every entry point that
// echoes its input, and requires that no 4-byte piece of the credential
// comes out: not in an error, a log record, a stored row or an HTTP
// response.

const (
	installedSHA = "1111111111111111111111111111111111111111"
	upstreamSHA  = "2222222222222222222222222222222222222222"
)

// secretAlphabet has no lowercase letters and no 0 or 1, so that no 4-byte
// piece of a secret is likely to occur in ordinary error text ("host",
// "2048") by chance.
const secretAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

type secrets struct{ rng *rand.Rand }

func (g secrets) next(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = secretAlphabet[g.rng.IntN(len(secretAlphabet))]
	}
	return string(b)
}

// leakEnv is a fresh world per case: a memstore with one install that has
// a pending update, a Tracker, an Updater, an admin handler, and one log
// buffer that every logger writes to.
type leakEnv struct {
	store   *memstore.Store
	tracker *tracking.Tracker
	handler http.Handler
	pending int64
	log     *slog.Logger
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixedResolver says upstream moved to upstreamSHA.
type fixedResolver struct{}

func (fixedResolver) Resolve(context.Context, resolver.Request) (resolver.Result, error) {
	return resolver.Result{SHA: upstreamSHA}, nil
}

func newLeakEnv(t *testing.T) *leakEnv {
	t.Helper()
	logs := &syncBuffer{}
	e := &leakEnv{
		store: memstore.New(),
		logs:  logs,
		log:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	tr, err := tracking.NewTracker(e.store, nil)
	require.NoError(t, err)
	e.tracker = tr
	_, err = e.tracker.RecordInstall(t.Context(), tracking.InstallRecord{
		WorkspaceID: "ws", PluginName: "alpha", Source: "github://acme/alpha", Ref: "branch:main", SHA: installedSHA,
	})
	require.NoError(t, err)
	sw, err := drift.NewSweeper(e.store, fixedResolver{}, &drift.SweeperConfig{Holder: "test", Concurrency: 1, Logger: e.log})
	require.NoError(t, err)
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued)
	us, err := e.store.ListUpdates(t.Context(), storage.ListUpdatesParams{Limit: 1})
	require.NoError(t, err)
	require.Len(t, us, 1)
	e.pending = us[0].ID
	up, err := drift.NewUpdater(e.store, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil,
		&drift.UpdaterConfig{Logger: e.log})
	require.NoError(t, err)
	e.handler, err = adminhttp.NewHandler(adminhttp.Config{
		Updater: up, Sweeper: sw, Store: e.store, AllowUnauthenticated: true, Logger: e.log,
	})
	require.NoError(t, err)
	return e
}

// surface runs one entry point on a hostile input and returns the texts it
// produced; what it logs lands in the env's buffer.
type surface struct {
	name  string
	admin bool // a request to the admin API
	run   func(t *testing.T, e *leakEnv, in string) []string
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (e *leakEnv) installs(t *testing.T) string {
	ins, err := e.store.ListInstalls(t.Context(), storage.ListInstallsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	return fmt.Sprintf("%+v", ins)
}

func (e *leakEnv) record(t *testing.T, rec tracking.InstallRecord) []string {
	_, err := e.tracker.RecordInstall(t.Context(), rec)
	return []string{errText(err), e.installs(t)}
}

func (e *leakEnv) serve(t *testing.T, method, target, body string) string {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return fmt.Sprintf("%d %v %s", rec.Code, rec.Header(), rec.Body.String())
}

var (
	parseSource = surface{"tracking.ParseSource", false, func(t *testing.T, e *leakEnv, in string) []string {
		src, err := tracking.ParseSource(in)
		return []string{errText(err), src.String()}
	}}
	recordSource = surface{"Tracker.RecordInstall source", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "beta", Source: in, Ref: "branch:main", SHA: installedSHA})
	}}
	githubResolve = surface{"github.Resolver.Resolve", false, func(t *testing.T, e *leakEnv, in string) []string {
		// Nothing valid should reach the API; if it does, it answers 404.
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		r, err := github.New(githubConfig(t, srv.URL+"/", e.log))
		require.NoError(t, err)
		ref, err := tracking.ParseRef("branch:main")
		require.NoError(t, err)
		// A Source is made only by the parsers: what they refuse never
		// reaches the resolver; what they accept is sent on.
		src, err := tracking.ParseSource(in)
		if err != nil {
			return []string{errText(err)}
		}
		_, err = r.Resolve(t.Context(), resolver.Request{Source: src, Ref: ref})
		return []string{errText(err)}
	}}
	parseRef = surface{"tracking.ParseRef", false, func(t *testing.T, e *leakEnv, in string) []string {
		ref, err := tracking.ParseRef(in)
		return []string{errText(err), ref.String()}
	}}
	recordRef = surface{"Tracker.RecordInstall ref", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "beta", Source: "github://acme/beta", Ref: in, SHA: installedSHA})
	}}
	recordWorkspace = surface{"Tracker.RecordInstall workspace", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: in, PluginName: "beta", Source: "github://acme/beta", Ref: "branch:main", SHA: installedSHA})
	}}
	recordPlugin = surface{"Tracker.RecordInstall plugin", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: "ws", PluginName: in, Source: "github://acme/beta", Ref: "branch:main", SHA: installedSHA})
	}}
	recordVersion = surface{"Tracker.RecordInstall version", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "beta", Source: "github://acme/beta", Ref: "branch:main", SHA: installedSHA, Version: in})
	}}
	recordSHA = surface{"Tracker.RecordInstall sha", false, func(t *testing.T, e *leakEnv, in string) []string {
		return e.record(t, tracking.InstallRecord{WorkspaceID: "ws", PluginName: "beta", Source: "github://acme/beta", Ref: "branch:main", SHA: in})
	}}
	openStore = surface{"bunstore.Open", false, func(t *testing.T, e *leakEnv, in string) []string {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		s, err := bunstore.Open(ctx, in, nil)
		if err == nil {
			_ = s.Close()
		}
		return []string{errText(err)}
	}}
	githubBaseURL = surface{"resolver.NewGitHubHosts APIBaseURL", false, func(t *testing.T, e *leakEnv, in string) []string {
		hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "github.com", APIBaseURL: in})
		return []string{errText(err), github.Config{Hosts: hosts, Auth: map[string]github.Auth{"github.com": {Token: "t"}}}.String()}
	}}
	// githubMessage: an API (or a proxy in front of it) that echoes a
	// credential in its error message, seen through a sweep.
	githubMessage = surface{"github API error message", false, func(t *testing.T, e *leakEnv, in string) []string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": in})
		}))
		defer srv.Close()
		r, err := github.New(githubConfig(t, srv.URL+"/", e.log))
		require.NoError(t, err)
		sw, err := drift.NewSweeper(e.store, r, &drift.SweeperConfig{Holder: "test", Concurrency: 1, Logger: e.log})
		require.NoError(t, err)
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, rep.Failed, "the sweep should have failed on the API error")
		ups, err := e.store.ListUpstreams(t.Context(), storage.ListUpstreamsParams{Limit: storage.MaxLimit})
		require.NoError(t, err)
		return []string{errText(err), fmt.Sprintf("%+v", rep), fmt.Sprintf("%+v", ups)}
	}}
	adminWorkspace = surface{"adminhttp workspace_id", true, func(t *testing.T, e *leakEnv, in string) []string {
		q := url.Values{"workspace_id": {in}}.Encode()
		return []string{
			e.serve(t, http.MethodGet, "/admin/installs?"+q, ""),
			e.serve(t, http.MethodGet, "/admin/plugin-updates?"+q, ""),
			e.serve(t, http.MethodGet, "/admin/?"+q, ""),
		}
	}}
	adminPlugin = surface{"adminhttp plugin_name", true, func(t *testing.T, e *leakEnv, in string) []string {
		return []string{e.serve(t, http.MethodGet, "/admin/plugin-updates?"+url.Values{"plugin_name": {in}}.Encode(), "")}
	}}
	adminStatus = surface{"adminhttp status", true, func(t *testing.T, e *leakEnv, in string) []string {
		return []string{e.serve(t, http.MethodGet, "/admin/plugin-updates?"+url.Values{"status": {in}}.Encode(), "")}
	}}
	adminQueryKey = surface{"adminhttp query parameter name", true, func(t *testing.T, e *leakEnv, in string) []string {
		return []string{e.serve(t, http.MethodGet, "/admin/installs?"+url.Values{in: {"1"}}.Encode(), "")}
	}}
	adminDismiss = surface{"adminhttp dismiss reason", true, func(t *testing.T, e *leakEnv, in string) []string {
		body, err := json.Marshal(map[string]string{"reason": in})
		require.NoError(t, err)
		return []string{
			e.serve(t, http.MethodPost, fmt.Sprintf("/admin/plugin-updates/%d/dismiss", e.pending), string(body)),
			e.serve(t, http.MethodGet, fmt.Sprintf("/admin/plugin-updates/%d", e.pending), ""),
			e.serve(t, http.MethodGet, "/admin/?status=dismissed", ""),
		}
	}}
)

var (
	sourceSurfaces = []surface{parseSource, recordSource, githubResolve}
	refSurfaces    = []surface{parseRef, recordRef}
)

type leakCase struct {
	name   string
	secret string // the part of input that must not come out, not even 4 bytes of it
	input  string
	via    []surface
}

func leakCases(g secrets) []leakCase {
	var cs []leakCase
	add := func(name, secret, format string, via ...surface) {
		cs = append(cs, leakCase{name: name, secret: secret, input: fmt.Sprintf(format, secret), via: via})
	}
	// Sources: each credential-bearing form, in every transport.
	add("token as https user", g.next(36), "git+https://ghp_%s@github.com/o/r.git", sourceSurfaces...)
	add("https user:pass", g.next(24), "git+https://deploy:%s@git.example.com/o/r.git", sourceSurfaces...)
	add("http user:pass", g.next(24), "git+http://deploy:%s@git.example.com/o/r#v1.2.3", sourceSurfaces...)
	add("ssh user:pass", g.next(24), "git+ssh://git:%s@git.example.com:2222/o/r", sourceSurfaces...)
	add("github token user", g.next(36), "github://%s@acme/widget", sourceSurfaces...)
	add("github ghp token user", g.next(36), "github://ghp_%s@acme/widget#tag:v1", sourceSurfaces...)
	add("github host and token", g.next(36), "github://%s@ghe.example.com/acme/widget", sourceSurfaces...)
	add("x-access-token", g.next(36), "git+https://x-access-token:%s@github.com/o/r", sourceSurfaces...)
	add("oauth2", g.next(28), "git+https://oauth2:%s@gitlab.example.com/o/r.git", sourceSurfaces...)
	add("gitlab token as password", g.next(20), "git+https://u:glpat-%s@gitlab.example.com/o/r.git", sourceSurfaces...)
	add("password with a slash", g.next(10)+"/"+g.next(10), "git+https://deploy:%s@git.example.com/o/r", sourceSurfaces...)
	add("password with a question mark", g.next(10)+"?"+g.next(10), "git+https://deploy:%s@git.example.com/o/r", sourceSurfaces...)
	add("plain https with credentials", g.next(24), "https://deploy:%s@git.example.com/o/r", sourceSurfaces...)
	add("scp-like with password", g.next(24), "deploy:%s@git.example.com:o/r.git", sourceSurfaces...)
	add("token in query", g.next(36), "git+https://git.example.com/o/r?access_token=%s", sourceSurfaces...)
	add("token as unknown scheme", g.next(36), "ghp_%s://github.com/o/r", sourceSurfaces...)
	add("token as remote helper", g.next(36), "ghp_%s::https://github.com/o/r", sourceSurfaces...)
	add("slack token in local name", g.next(30), "local://xoxb-%s", sourceSurfaces...)
	// Refs.
	add("token in branch name", g.next(36), "branch:ghp_%s:main", refSurfaces...)
	add("token in sha", g.next(36), "sha:ghp_%s", refSurfaces...)
	add("password in constraint", g.next(24), "semver:>=1.0 password=%s", refSurfaces...)
	add("bearer header as ref", g.next(40), "Authorization: Bearer %s", refSurfaces...)
	add("token as ref kind", g.next(36), "ghp_%s:v1", refSurfaces...)
	// Install records.
	add("token in workspace id", g.next(36), "tenant/ghp_%s", recordWorkspace, adminWorkspace)
	add("password in workspace id", g.next(24), "tenant password=%s", recordWorkspace, adminWorkspace)
	add("token in plugin name", g.next(36), "Plugin-ghp_%s", recordPlugin, adminPlugin)
	add("basic credential in plugin name", g.next(32), "Basic %s", recordPlugin, adminPlugin)
	add("token in version", g.next(36), "v1 ghp_%s", recordVersion)
	add("token as sha", g.next(36), "ghp_%s", recordSHA)
	// DSNs.
	add("postgres key=value behind the scheme", g.next(24), "postgres://host=127.0.0.1 port=1 password=%s sslmode=disable", openStore)
	add("postgres quoted password", g.next(12)+" "+g.next(12), "postgres://host=127.0.0.1 password='%s' sslmode=bogus", openStore)
	add("postgres URL password, bad port", g.next(24), "postgres://app:%s@127.0.0.1:notaport/db", openStore)
	add("postgres URL password, bad option", g.next(24), "postgres://app:%s@127.0.0.1:1/db?sslmode=bogus", openStore)
	add("postgres URL password, refused", g.next(24), "postgres://app:%s@127.0.0.1:1/db?sslmode=disable&connect_timeout=5", openStore)
	add("postgres password in query", g.next(24), "postgres://127.0.0.1:1/db?password=%s&sslmode=bogus", openStore)
	add("unknown scheme with password", g.next(24), "mysql://app:%s@db.example.com/db", openStore)
	add("token as scheme", g.next(36), "ghp_%s://db", openStore)
	add("sqlite with password", g.next(24), "sqlite:///tmp/x.db?password=%s", openStore)
	// GitHub API configuration and answers.
	add("base URL with credentials", g.next(36), "https://u:%s@ghe.example.com/api/v3/", githubBaseURL)
	add("base URL with token query", g.next(36), "https://ghe.example.com/api/v3/?access_token=%s", githubBaseURL)
	add("base URL as bad URL with token", g.next(36), "ghp_%s:%%zz", githubBaseURL)
	add("API message with token", g.next(36), "Bad credentials: ghp_%s", githubMessage)
	add("API message with header", g.next(40), "rejected Authorization: token %s", githubMessage)
	// The admin API.
	add("token as status", g.next(36), "ghp_%s", adminStatus)
	add("token as query parameter", g.next(36), "ghp_%s", adminQueryKey)
	add("token in dismiss reason", g.next(36), "leaked ghp_%s, rotated", adminDismiss)
	add("password in dismiss reason", g.next(24), "db password=%s was wrong", adminDismiss)
	return cs
}

// TestNoSecretIsEchoed: see the top of this file. The admin API has its
// own test below.
func TestNoSecretIsEchoed(t *testing.T) {
	runLeakCases(t, func(s surface) bool { return !s.admin })
}

// TestNoSecretIsEchoedByAdminHTTP holds the admin API, its log records and
// what it stores (a dismiss reason) to the same rule.
func TestNoSecretIsEchoedByAdminHTTP(t *testing.T) {
	runLeakCases(t, func(s surface) bool { return s.admin })
}

func runLeakCases(t *testing.T, keep func(surface) bool) {
	g := secrets{rand.New(rand.NewPCG(2026, 3))}
	for _, c := range leakCases(g) {
		require.Contains(t, c.input, c.secret)
		for _, s := range c.via {
			if !keep(s) {
				continue
			}
			t.Run(c.name+"/"+s.name, func(t *testing.T) {
				e := newLeakEnv(t)
				before := e.logs.String()
				texts := s.run(t, e, c.input)
				texts = append(texts, strings.TrimPrefix(e.logs.String(), before))
				for _, text := range texts {
					requireNoPiece(t, c.secret, text)
				}
			})
		}
	}
}

// requireNoPiece fails when any 4 consecutive bytes of secret occur in
// text, or in any case when they hold a digit (some messages lowercase what
// they quote; a piece of letters only would too often match a word).
func requireNoPiece(t *testing.T, secret, text string) {
	t.Helper()
	lower := strings.ToLower(text)
	for i := 0; i+4 <= len(secret); i++ {
		piece := secret[i : i+4]
		if strings.Contains(text, piece) || strings.ContainsAny(piece, "0123456789") && strings.Contains(lower, strings.ToLower(piece)) {
			t.Errorf("%q of the secret came out in:\n%s", piece, text)
			return
		}
	}
}

// githubConfig is a github resolver's configuration for github.com's API
// at apiBaseURL.
func githubConfig(t *testing.T, apiBaseURL string, log *slog.Logger) *github.Config {
	t.Helper()
	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "github.com", APIBaseURL: apiBaseURL})
	require.NoError(t, err)
	return &github.Config{Hosts: hosts, Logger: log}
}
