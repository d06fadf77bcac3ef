package adminhttp_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// slowHost is where hanging upstreams live.
const slowHost = "slow.example.com"

// hangingUpstreams records n installs whose upstreams hang until release
// is closed (or their resolution's ctx ends), listed before n healthy ones
// whose upstream moved. entered receives once per hanging resolution.
func (e *env) hangingUpstreams(n int) (entered chan struct{}, release chan struct{}) {
	e.t.Helper()
	tr := mustTracker(e.t, e.store, e.clock.Now)
	for i := range n {
		_, err := tr.RecordInstall(e.t.Context(), tracking.InstallRecord{
			WorkspaceID: "ws-slow", PluginName: fmt.Sprintf("slow-%02d", i),
			Source: fmt.Sprintf("git+https://%s/p%02d.git", slowHost, i), Ref: "branch:main", SHA: shaHex(10 + i),
		})
		require.NoError(e.t, err)
	}
	for i := range n {
		src := fmt.Sprintf("github://acme/healthy-%02d", i)
		_, err := tr.RecordInstall(e.t.Context(), tracking.InstallRecord{
			WorkspaceID: "ws-ok", PluginName: fmt.Sprintf("healthy-%02d", i), Source: src, Ref: "tag:latest",
			SHA: shaHex(100 + i), Version: "v1.0.0",
		})
		require.NoError(e.t, err)
		e.resolver.set(src, "tag:latest", shaHex(200+i), "v1.1.0")
	}
	entered, release = make(chan struct{}, n), make(chan struct{})
	e.resolver.hook = func(ctx context.Context, req resolver.Request) error {
		if !strings.Contains(req.Source.String(), slowHost) {
			return nil
		}
		entered <- struct{}{}
		select {
		case <-release:
			return fmt.Errorf("%s does not answer: %w", slowHost, resolver.ErrNotFound)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return entered, release
}

// within receives from ch, or fails the test after 10 seconds.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen within 10s", what)
		panic("unreachable")
	}
}

type sweepBody struct {
	Sweep struct {
		State      string         `json:"state"`
		StartedAt  *string        `json:"started_at"`
		FinishedAt *string        `json:"finished_at"`
		Report     map[string]any `json:"report"`
		Error      string         `json:"error"`
	} `json:"sweep"`
}

// healthyQueued counts the healthy installs with a pending entry.
func (e *env) healthyQueued() int {
	n := 0
	for _, u := range e.all() {
		if u.WorkspaceID == "ws-ok" && u.Status == tracking.StatusPending {
			n++
		}
	}
	return n
}

// TestSweepOutlivesItsRequest: ten hanging upstreams come first, the client
// gives up; the sweep goes on, queues every healthy upstream once the
// hanging ones answer, and its report can be read afterwards.
func TestSweepOutlivesItsRequest(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.SweepWait = time.Millisecond })
	entered, release := e.hangingUpstreams(10)

	// The client gives up while the first upstream hangs.
	ctx, cancel := context.WithCancel(t.Context())
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() { answered <- e.do(req{method: "POST", path: path("/sweeps"), ctx: ctx}) }()
	within(t, entered, "the first hanging resolution")
	cancel()
	w := within(t, answered, "the answer to the client that left")
	assert.Equal(t, http.StatusAccepted, w.Code, w.Body.String())

	// Another request joins the running sweep: 202, and where to look.
	w = e.do(req{method: "POST", path: path("/sweeps")})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	assert.Equal(t, path("/sweeps/latest"), w.Header().Get("Location"))
	running := decode[sweepBody](t, w).Sweep
	assert.Equal(t, "running", running.State)
	require.NotNil(t, running.StartedAt)
	assert.Equal(t, "2031-03-04T09:00:00Z", *running.StartedAt)
	assert.Nil(t, running.Report)

	latest := decode[sweepBody](t, e.do(req{method: "GET", path: path("/sweeps/latest")})).Sweep
	assert.Equal(t, running, latest, "GET /sweeps/latest shows the same running sweep")
	assert.Contains(t, section(e.page(""), "last-sweep"), "Running since", "the page shows it too")

	run := e.sweeper.Trigger() // joins the running sweep, to know when it ends
	e.clock.Advance(2 * time.Minute)
	close(release)
	within(t, run.Done(), "the end of the sweep")
	assert.Equal(t, 10, e.healthyQueued(), "every healthy upstream was queued")

	done := decode[sweepBody](t, e.do(req{method: "GET", path: path("/sweeps/latest")})).Sweep
	assert.Equal(t, "done", done.State)
	assert.Equal(t, "2031-03-04T09:00:00Z", *done.StartedAt)
	require.NotNil(t, done.FinishedAt)
	assert.Equal(t, "2031-03-04T09:02:00Z", *done.FinishedAt)
	assert.Equal(t, float64(23), done.Report["upstreams"])
	assert.Equal(t, float64(10), done.Report["queued"])
	assert.Equal(t, float64(10), done.Report["failed"], "the hanging upstreams failed when released")
	assert.Empty(t, done.Error)
	e.clock.Advance(5 * time.Minute)
	last := section(e.page(""), "last-sweep")
	assert.Contains(t, last, `Finished <time datetime="2031-03-04T09:02:00Z" title="2031-03-04T09:02:00Z">5m ago</time>`)
	assert.Contains(t, last, "<dt>Queued</dt><dd>10</dd>")
	assert.Contains(t, last, slowHost+" does not answer")
}

// TestPageSweepOutlivesItsRequest is the same story through the page's
// "Sweep now" form.
func TestPageSweepOutlivesItsRequest(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.SweepWait = time.Millisecond })
	entered, release := e.hangingUpstreams(3)
	ctx, cancel := context.WithCancel(t.Context())
	answered := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		answered <- e.do(req{method: "POST", path: path("/ui/sweeps"), body: url.Values{"workspace": {"ws-ok"}}.Encode(),
			contentType: "application/x-www-form-urlencoded", ctx: ctx})
	}()
	within(t, entered, "the first hanging resolution")
	cancel()
	w := within(t, answered, "the answer to the browser that left")
	got, loc := e.follow(w)
	assert.Equal(t, "/admin/?op=sweep&workspace=ws-ok", loc)
	assert.Contains(t, got.Body.String(), "The sweep is running")

	run := e.sweeper.Trigger()
	close(release)
	within(t, run.Done(), "the end of the sweep")
	assert.Equal(t, 3, e.healthyQueued(), "every healthy upstream was queued")
	html := e.page("?op=sweep&workspace=ws-ok")
	assert.Contains(t, html, "Sweep done, but 3 upstreams could not be resolved.")
	assert.Contains(t, section(html, "last-sweep"), "<dt>Queued</dt><dd>3</dd>")
}

func TestSweepsLatestNeverSwept(t *testing.T) {
	e := newEnv(t)
	// A store of its own: no replica has recorded a sweep there.
	fresh, err := drift.NewSweeper(memstore.New(), e.resolver, &drift.SweeperConfig{Now: e.clock.Now})
	require.NoError(t, err)
	e = newEnv(t, func(c *adminhttp.Config) { c.Sweeper = fresh })
	w := e.do(req{method: "GET", path: path("/sweeps/latest")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.JSONEq(t, `{"sweep":{"state":"none","started_at":null,"finished_at":null,"report":null,"error":""}}`, w.Body.String())
	assert.Contains(t, section(e.page(""), "last-sweep"), "No sweep has run")

	e = newEnv(t, func(c *adminhttp.Config) { c.Sweeper = nil })
	requireError(t, e.do(req{method: "GET", path: path("/sweeps/latest")}), 501, "not_implemented")
	assert.Empty(t, section(e.page(""), "last-sweep"))
}

func TestSweepWaitDefaultAndValidation(t *testing.T) {
	e := newEnv(t)
	base := adminhttp.Config{Updater: e.updater, Store: e.store, Authorize: bearerAuthorize, SweepWait: -time.Second}
	_, err := adminhttp.NewHandler(base)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SweepWait")
	assert.Equal(t, 5*time.Second, adminhttp.DefaultSweepWait)
}

// TestSweepReportKeys pins the JSON shape of a sweep report, the same on
// POST /sweeps and GET /sweeps/latest: snake_case keys, the duration in
// nanoseconds, errors only when an upstream failed.
func TestSweepReportKeys(t *testing.T) {
	counts := []string{"skipped", "upstreams", "resolved", "unchanged", "failed", "deferred",
		"installs", "queued", "superseded", "duration_ns"}
	e := newEnv(t)
	reports := func() (posted, latest map[string]any) {
		t.Helper()
		w := e.do(req{method: "POST", path: path("/sweeps")})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		posted = decode[struct {
			Report map[string]any `json:"report"`
		}](t, w).Report
		latest = decode[sweepBody](t, e.do(req{method: "GET", path: path("/sweeps/latest")})).Sweep.Report
		assert.Equal(t, posted, latest, "both routes send the same report")
		return posted, latest
	}

	posted, _ := reports()
	assert.ElementsMatch(t, counts, slices.Collect(maps.Keys(posted)), "without failures there is no errors key")
	assert.Equal(t, false, posted["skipped"])
	assert.Equal(t, float64(3), posted["upstreams"])
	assert.Equal(t, float64(3), posted["unchanged"], "nothing moved since the setup's sweep")
	assert.IsType(t, float64(0), posted["duration_ns"])

	e.resolver.fail(srcBeta, "branch:main", errors.New("git ls-remote: fatal: could not read Username"))
	posted, _ = reports()
	assert.ElementsMatch(t, append(counts, "errors"), slices.Collect(maps.Keys(posted)))
	assert.Equal(t, float64(1), posted["failed"])
	assert.Equal(t, []any{map[string]any{"source": srcBeta, "ref": "branch:main", "error": "git ls-remote: fatal: could not read Username"}},
		posted["errors"])
}

// TestPageListsTheFirstSweepErrors: the page lists five failing upstreams,
// each error cut to 300 bytes, and counts the rest; the API sends them all.
func TestPageListsTheFirstSweepErrors(t *testing.T) {
	e := newEnv(t)
	tr := mustTracker(e.t, e.store, e.clock.Now)
	long := "git ls-remote: " + strings.Repeat("x", 400)
	for i := range 7 {
		src := fmt.Sprintf("github://acme/broken-%d", i)
		_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{
			WorkspaceID: "ws-c", PluginName: fmt.Sprintf("broken-%d", i), Source: src, Ref: "branch:main", SHA: shaHex(300 + i),
		})
		require.NoError(t, err)
		e.resolver.fail(src, "branch:main", errors.New(long))
	}
	w := e.do(req{method: "POST", path: path("/sweeps")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	errs := decode[struct {
		Report map[string]any `json:"report"`
	}](t, w).Report["errors"]
	require.Len(t, errs, 7, "the API sends every error")
	assert.Equal(t, long, errs.([]any)[0].(map[string]any)["error"], "and each whole")

	last := section(e.page(""), "last-sweep")
	assert.Equal(t, 5, strings.Count(last, "<li><code>"), last)
	assert.Contains(t, last, "… and 2 more (see the server log).")
	assert.Equal(t, 5, strings.Count(last, ": "+long[:297]+"…</li>"), "each error is cut to 300 bytes")
	assert.NotContains(t, last, long)
}
