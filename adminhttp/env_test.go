package adminhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// clock is the tests' injected clock.
type clock = fakeclock.Clock

// fakeResolver answers from a table and counts calls. hook, when set,
// runs first and can hold or fail a resolution.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string]resolver.Result
	errs    map[string]error
	calls   int
	hook    func(ctx context.Context, req resolver.Request) error
}

func (f *fakeResolver) set(src, ref, sha, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[src+" "+ref] = resolver.Result{SHA: sha, Version: version}
}

func (f *fakeResolver) fail(src, ref string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[src+" "+ref] = err
}

func (f *fakeResolver) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeResolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	f.mu.Lock()
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, req); err != nil {
			return resolver.Result{}, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	k := req.Source.String() + " " + req.Ref.String()
	if err := f.errs[k]; err != nil {
		return resolver.Result{}, err
	}
	res, ok := f.answers[k]
	if !ok {
		return resolver.Result{}, fmt.Errorf("fake: %s: %w", k, resolver.ErrNotFound)
	}
	res.Unchanged = req.Known.SHA == res.SHA
	return res, nil
}

// fakeInstaller records installs; it can fail or block.
type fakeInstaller struct {
	mu       sync.Mutex
	requests []drift.InstallRequest
	failWith error
	block    chan struct{} // when set, Install waits for it to close
	started  chan struct{} // when set, receives once per Install
}

func (f *fakeInstaller) Install(ctx context.Context, req drift.InstallRequest) error {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	err, block, started := f.failWith, f.block, f.started
	f.mu.Unlock()
	if started != nil {
		started <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (f *fakeInstaller) request(i int) drift.InstallRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[i]
}

func (f *fakeInstaller) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// fakeRestarter records restarts and can fail.
type fakeRestarter struct {
	mu       sync.Mutex
	restarts []string
	failWith error
}

func (f *fakeRestarter) Restart(_ context.Context, ws string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts = append(f.restarts, ws)
	return f.failWith
}

// shaHex returns a realistic-looking commit id whose first 12 characters
// differ between n.
func shaHex(n int) string { return fmt.Sprintf("%012x%028d", 0xabc000000000+n, n) }

const (
	srcAlpha = "github://acme/alpha"
	srcBeta  = "git+https://git.example.com/acme/beta.git"
	srcGamma = "github://acme/gamma"
)

// env is one handler over a memstore holding three pending entries:
//
//	alpha (ws-a): tag:latest  v1.0.0 → v1.1.0  new-version
//	beta  (ws-a): branch:main               new-commit
//	gamma (ws-b): tag:v2.0.0  re-pointed    tag-moved
type env struct {
	t         *testing.T
	clock     *clock
	store     *memstore.Store
	resolver  *fakeResolver
	installer *fakeInstaller
	restarter *fakeRestarter
	updater   *drift.Updater
	sweeper   *drift.Sweeper
	logs      *syncBuffer
	handler   http.Handler
	alpha     tracking.Update
	beta      tracking.Update
	gamma     tracking.Update
	held      int64 // see heldInstall
	dead      int64 // see deadEvent
}

// deadEvent returns the id of an event that subscriber "hook" gave up
// on, made (once per env) by a delivery that always fails.
func (e *env) deadEvent() int64 {
	e.t.Helper()
	if e.dead != 0 {
		return e.dead
	}
	hook := drift.Subscriber{Name: "hook", Deliver: func(context.Context, tracking.Event) error {
		return errors.New("receiver answered 503")
	}}
	d, err := drift.NewDispatcher(e.store, []drift.Subscriber{hook}, &drift.DispatcherConfig{MaxAttempts: 1, Now: e.clock.Now})
	require.NoError(e.t, err)
	_, err = d.RunOnce(e.t.Context())
	require.NoError(e.t, err)
	dead, err := e.store.ListDeadEvents(e.t.Context(), storage.ListDeadEventsParams{Subscriber: "hook", Limit: 1})
	require.NoError(e.t, err)
	require.NotEmpty(e.t, dead, "the failing delivery left a dead event")
	e.dead = dead[0].Event.ID
	return e.dead
}

// heldInstall returns the id of an active hold of install ws-c/delta,
// made (once per env) by a rollback the store recorded as started, so
// that no installer ran and the other installs' entries are untouched.
func (e *env) heldInstall() int64 {
	e.t.Helper()
	if e.held != 0 {
		return e.held
	}
	ctx := e.t.Context()
	tr := mustTracker(e.t, e.store, e.clock.Now)
	_, err := tr.RecordInstall(ctx, tracking.InstallRecord{WorkspaceID: "ws-c", PluginName: "delta", Source: srcBeta, Ref: "branch:main", SHA: shaHex(7)})
	require.NoError(e.t, err)
	now := e.clock.Now()
	_, h, err := e.store.QueueRollback(ctx, storage.QueueRollbackParams{
		WorkspaceID: "ws-c", PluginName: "delta", ToSHA: shaHex(8), Actor: "alice", Reason: "bad release",
		Token: "test-rollback", TTL: time.Hour, At: now,
	})
	require.NoError(e.t, err)
	e.held = h.ID
	return e.held
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tokens is the test Authorize: a bearer token names the actor. alice
// and bob are admins (every operation); viewer may only read; nobody is
// known but may do nothing.
var tokens = map[string]string{"alice-token": "alice", "bob-token": "bob", "viewer-token": "viewer"}

func bearerAuthorize(r *http.Request, op adminhttp.Operation) (string, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", adminhttp.ErrUnauthenticated
	}
	if tok == "nobody-token" {
		return "", adminhttp.ErrForbidden
	}
	actor, ok := tokens[tok]
	if !ok {
		return "", adminhttp.ErrUnauthenticated
	}
	if actor == "viewer" && op != adminhttp.OpRead {
		return "", adminhttp.ErrForbidden
	}
	return actor, nil
}

// mustTracker returns a Tracker on s whose clock is now.
func mustTracker(t testing.TB, s tracking.TrackerStore, now func() time.Time) *tracking.Tracker {
	t.Helper()
	tr, err := tracking.NewTracker(s, &tracking.TrackerConfig{Now: now})
	require.NoError(t, err)
	return tr
}

type envOption func(*adminhttp.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{
		t: t,
		// The clock runs ahead of the wall clock: the Updater derives the
		// installer's real deadline from it.
		clock:     fakeclock.New(time.Date(2031, 3, 4, 9, 0, 0, 0, time.UTC)),
		store:     memstore.New(),
		resolver:  &fakeResolver{answers: map[string]resolver.Result{}, errs: map[string]error{}},
		installer: &fakeInstaller{},
		restarter: &fakeRestarter{},
		logs:      &syncBuffer{},
	}
	ctx := t.Context()
	tr := mustTracker(e.t, e.store, e.clock.Now)
	for _, rec := range []tracking.InstallRecord{
		{WorkspaceID: "ws-a", PluginName: "alpha", Source: srcAlpha, Ref: "tag:latest", SHA: shaHex(1), Version: "v1.0.0"},
		{WorkspaceID: "ws-a", PluginName: "beta", Source: srcBeta, Ref: "branch:main", SHA: shaHex(3)},
		{WorkspaceID: "ws-b", PluginName: "gamma", Source: srcGamma, Ref: "tag:v2.0.0", SHA: shaHex(5), Version: "v2.0.0"},
	} {
		_, err := tr.RecordInstall(ctx, rec)
		require.NoError(t, err)
	}
	e.resolver.set(srcAlpha, "tag:latest", shaHex(2), "v1.1.0")
	e.resolver.set(srcBeta, "branch:main", shaHex(4), "")
	e.resolver.set(srcGamma, "tag:v2.0.0", shaHex(6), "v2.0.0")

	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	e.sweeper, err = drift.NewSweeper(e.store, e.resolver, &drift.SweeperConfig{Now: e.clock.Now, Holder: "test", Concurrency: 1})
	require.NoError(t, err)
	rep, err := e.sweeper.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Queued)
	e.updater = driftUpdater(e.store, e)
	for _, u := range e.all() {
		switch u.PluginName {
		case "alpha":
			e.alpha = u
		case "beta":
			e.beta = u
		case "gamma":
			e.gamma = u
		}
	}
	require.Equal(t, tracking.KindTagMoved, e.gamma.Kind)

	cfg := adminhttp.Config{
		Updater: e.updater, Sweeper: e.sweeper, Store: e.store,
		Authorize: bearerAuthorize, Logger: logger, Now: e.clock.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.handler, err = adminhttp.NewHandler(cfg)
	require.NoError(t, err)
	return e
}

// all returns every entry of the queue, oldest first.
func (e *env) all() []tracking.Update {
	e.t.Helper()
	us, err := e.store.ListUpdates(e.t.Context(), storage.ListUpdatesParams{Limit: storage.MaxLimit})
	require.NoError(e.t, err)
	return us
}

func (e *env) get(id int64) tracking.Update {
	e.t.Helper()
	u, err := e.store.GetUpdate(e.t.Context(), id)
	require.NoError(e.t, err)
	return u
}

// req describes one request; zero fields mean: alice's token, no body.
type req struct {
	method, path string
	body         string
	contentType  string // defaults to application/json when body is set
	header       map[string]string
	noAuth       bool
	ctx          context.Context // defaults to the test's
}

func (e *env) do(r req) *httptest.ResponseRecorder {
	e.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = e.t.Context()
	}
	hr := httptest.NewRequestWithContext(ctx, r.method, r.path, body)
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	} else if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if !r.noAuth {
		hr.Header.Set("Authorization", "Bearer alice-token")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, hr)
	return w
}

// apiErr is the JSON error body.
type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Update map[string]any `json:"update"`
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	require.Equal(t, "application/json", w.Header().Get("Content-Type"), "body: %s", w.Body.String())
	var v T
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	require.NoError(t, dec.Decode(&v), "body: %s", w.Body.String())
	return v
}

// requireError asserts an error response with status and code.
func requireError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) apiErr {
	t.Helper()
	require.Equal(t, status, w.Code, "body: %s", w.Body.String())
	e := decode[apiErr](t, w)
	require.Equal(t, code, e.Error.Code, "body: %s", w.Body.String())
	require.NotEmpty(t, e.Error.Message)
	return e
}

func path(format string, args ...any) string { return "/admin" + fmt.Sprintf(format, args...) }
