package adminhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/tracking"
)

// forge stands in for GitHub, a GitHub Enterprise host and a GitLab-like
// host at once: it records the pages the browser opens.
type forge struct {
	mu    sync.Mutex
	paths []string
}

func (f *forge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	fmt.Fprint(w, "<!doctype html><title>compare</title><p>diff</p>")
}

func (f *forge) opened() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.paths)
}

// TestBrowserTriage drives the grouped queue in headless Chromium with
// JavaScript off: it applies a whole group (the installer once per
// workspace), restores a dismissed entry, opens the compare links of a
// github.com, an Enterprise and a template host, filters by plugin and
// kind, and at 390×844 finds every Apply button inside the viewport right
// by its workspace name. Screenshots of both widths go to the test's
// temporary directory.
func TestBrowserTriage(t *testing.T) {
	bin := chromiumPath(t)
	fg := &forge{}
	forgeSrv := httptest.NewTLSServer(fg)
	t.Cleanup(forgeSrv.Close)
	forgeHost := strings.TrimPrefix(forgeSrv.URL, "https://")
	entSrc := "github://" + forgeHost + "/corp/ent"
	tplSrc := "git+https://" + forgeHost + "/acme/tpl.git"

	e := newEnv(t, func(c *adminhttp.Config) {
		c.GitHubURL = forgeSrv.URL // github.com, played by the forge
		c.GitHosts = map[string]adminhttp.GitHost{forgeHost: {Compare: "{base}/-/compare/{from}...{to}", Commit: "{base}/-/commit/{sha}"}}
	})
	tr := mustTracker(t, e.store, e.clock.Now)
	for _, ws := range []string{"acme-1", "acme-2", "acme-3", "acme-4"} {
		_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: ws, PluginName: "alpha", Source: srcAlpha, Ref: "tag:latest", SHA: shaHex(1), Version: "v1.0.0"})
		require.NoError(t, err)
	}
	_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws-e", PluginName: "ent", Source: entSrc, Ref: "branch:main", SHA: shaHex(20)})
	require.NoError(t, err)
	_, err = tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws-t", PluginName: "tpl", Source: tplSrc, Ref: "branch:main", SHA: shaHex(30)})
	require.NoError(t, err)
	e.resolver.set(entSrc, "branch:main", shaHex(21), "")
	e.resolver.set(tplSrc, "branch:main", shaHex(31), "")
	_, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	_, err = e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "not now")
	require.NoError(t, err)
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)

	bctx := startBrowser(t, bin, 120*time.Second,
		chromedp.Flag("ignore-certificate-errors", true), // the forge's test certificate
		chromedp.WindowSize(1366, 900),
	)

	shots := t.TempDir()
	page := srv.URL + "/admin/"
	b := tab{t, bctx}
	navigate, count, attr, text := b.navigate, b.count, b.attr, b.text
	group := func(plugin string) string { return fmt.Sprintf(`.group[data-change^="%s "]`, plugin) }

	navigate(page)
	assert.Equal(t, 5, count(group("alpha")+" tbody tr"), "one row per workspace of the change")
	assert.Contains(t, text("#summary"), "Integrity alarms")
	screenshot(t, bctx, shots, "triage-1366.png")

	// The compare links of the three kinds of host, opened.
	for _, c := range []struct{ plugin, want string }{
		{"alpha", "/acme/alpha/compare/" + shaHex(1) + "..." + shaHex(2)},
		{"ent", "/corp/ent/compare/" + shaHex(20) + "..." + shaHex(21)},
		{"tpl", "/acme/tpl/-/compare/" + shaHex(30) + "..." + shaHex(31)},
	} {
		navigate(page)
		href := attr(group(c.plugin)+" a.compare", "href")
		assert.Equal(t, forgeSrv.URL+c.want, href, c.plugin)
		_, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(group(c.plugin)+" a.compare")))
		require.NoError(t, err, c.plugin)
		assert.Contains(t, fg.opened(), c.want, "the browser opened %s's compare page", c.plugin)
	}

	// Filter by plugin and kind, through the form.
	navigate(page)
	require.NoError(t, chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`#filters input[name=plugin]`), "alpha"),
		chromedp.SetValue(chromedp.CSS(`#filters select[name=kind]`), "new-version")))
	resp, err := chromedp.RunResponse(bctx, chromedp.Submit(chromedp.CSS(`#filters`)))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), resp.Status)
	assert.Equal(t, 1, count(".group"), "only alpha's change")
	assert.Zero(t, count("#alarms"), "no alarm is a new version")
	assert.Equal(t, 5, count(group("alpha")+" tbody tr"))

	// At 390×844 the queue is cards: every Apply button is inside the
	// viewport, right below its workspace's name.
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)))
	navigate(page)
	var ids []int64
	for _, u := range e.all() {
		if u.Status == tracking.StatusPending {
			ids = append(ids, u.ID)
		}
	}
	require.Len(t, ids, 8, "alpha ×5, gamma, ent and tpl; beta is dismissed")
	for _, id := range ids {
		ws := box(t, bctx, fmt.Sprintf("#update-%d td.ws", id))
		btn := box(t, bctx, fmt.Sprintf("#update-%d form.apply button", id))
		assert.GreaterOrEqual(t, btn.x, 0.0, "update %d: Apply starts inside the viewport", id)
		assert.LessOrEqual(t, btn.x+btn.w, 390.0, "update %d: Apply ends inside the viewport", id)
		assert.Less(t, btn.y-(ws.y+ws.h), 80.0, "update %d: Apply is right below its workspace name", id)
		assert.GreaterOrEqual(t, btn.y, ws.y, "update %d: below, not above", id)
	}
	screenshot(t, bctx, shots, "triage-390.png")
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(1366, 900)))

	// Apply all: the installer runs once per workspace of the group.
	navigate(page)
	before := e.installer.count()
	resp, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(group("alpha")+" form.apply-all button")))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), resp.Status)
	assert.Contains(t, text("#flash"), "Applied alpha v1.1.0 in 5 workspaces.")
	var got []string
	for i := before; i < e.installer.count(); i++ {
		got = append(got, e.installer.request(i).WorkspaceID)
	}
	assert.ElementsMatch(t, []string{"ws-a", "acme-1", "acme-2", "acme-3", "acme-4"}, got, "once per workspace")
	assert.Zero(t, count(group("alpha")))

	// Restore the dismissed beta from the history.
	resp, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(fmt.Sprintf("#history #update-%d form.restore button", e.beta.ID))))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), resp.Status)
	assert.Contains(t, text("#flash"), "Restored beta")
	assert.Equal(t, tracking.StatusPending, e.get(e.beta.ID).Status)
	assert.Equal(t, 1, count(fmt.Sprintf("#queue #update-%d", e.beta.ID)), "back in the queue")
}

// tab drives one browser tab for a test.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// navigate opens u and requires a 200.
func (b tab) navigate(u string) {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	require.NoError(b.t, err, u)
	require.Equal(b.t, int64(http.StatusOK), resp.Status, u)
}

// count is how many elements sel selects.
func (b tab) count(sel string) int {
	b.t.Helper()
	ids, err := chromedp.Run(b.ctx, chromedp.QueryNodeIDs(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	require.NoError(b.t, err, sel)
	return len(ids)
}

// attr is attribute name of the element sel selects, which must have it.
func (b tab) attr(sel, name string) string {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(b.t, err, sel)
	require.True(b.t, res.Exists, "%s has %s", sel, name)
	return res.Value
}

// text is the visible text of the element sel selects.
func (b tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return s
}

// click clicks sel and requires the page it leads to to load with 200.
func (b tab) click(sel string) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	require.Equal(b.t, int64(http.StatusOK), resp.Status, sel)
}

// TestBrowserIntegrity drives the integrity views in headless Chromium
// with JavaScript off, at 1366 and at 390 pixels wide: a blocked entry
// shows its badge and the "Apply unverified" form inside the viewport,
// and overriding with a reason applies it; the holds tab lists a hold
// and Release removes it; the installs tab leads to an explanation that
// shows its reasons.
func TestBrowserIntegrity(t *testing.T) {
	bin := chromiumPath(t)
	bctx := startBrowser(t, bin, 120*time.Second, chromedp.WindowSize(1366, 900))
	shots := t.TempDir()
	for _, width := range []int64{1366, 390} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			e := newEnv(t)
			e.verify(e.alpha, unsignedRequired)
			held := e.heldInstall()
			srv := httptest.NewServer(e.handler)
			t.Cleanup(srv.Close)
			require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)))
			b := tab{t, bctx}
			page := srv.URL + "/admin/"

			b.navigate(page)
			row := fmt.Sprintf("#update-%d", e.alpha.ID)
			assert.Equal(t, 1, b.count(row+` .sig-check[data-state="unsigned"] .badge-danger`), "a dangerous badge")
			assert.Contains(t, b.text(row+" .sig-check"), "required")
			assert.Contains(t, b.text(row+" .sig-check"), "commit is not signed")
			assert.Zero(t, b.count(row+" button.btn-primary"), "no plain Apply")
			btn := box(t, bctx, row+" form.apply-unverified button")
			input := box(t, bctx, row+` form.apply-unverified input[name="unverified_reason"]`)
			for name, r := range map[string]rect{"Apply unverified": btn, "its reason": input} {
				assert.GreaterOrEqual(t, r.x, 0.0, "%s starts inside the viewport", name)
				assert.LessOrEqual(t, r.x+r.w, float64(width), "%s ends inside the viewport", name)
			}
			screenshot(t, bctx, shots, fmt.Sprintf("integrity-queue-%d.png", width))

			require.NoError(t, chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(row+` input[name="unverified_reason"]`), "checked the diff with the vendor")))
			b.click(row + " form.apply-unverified button")
			assert.Contains(t, b.text("#flash"), "although its signature is not verified")
			u := e.get(e.alpha.ID)
			assert.Equal(t, tracking.StatusApplied, u.Status)
			assert.Equal(t, "checked the diff with the vendor", u.Override)
			assert.Contains(t, b.text("#history "+row), "Applied unverified: checked the diff with the vendor")

			b.navigate(page + "?view=holds")
			hold := fmt.Sprintf("#holds-active #hold-%d", held)
			assert.Equal(t, 1, b.count(hold))
			assert.Contains(t, b.text(hold), "bad release")
			screenshot(t, bctx, shots, fmt.Sprintf("integrity-holds-%d.png", width))
			b.click(hold + " form.release button")
			assert.Contains(t, b.text("#flash"), "Released the hold on delta")
			assert.Zero(t, b.count(hold), "no longer active")
			assert.Equal(t, 1, b.count(fmt.Sprintf("#holds-released #hold-%d", held)))

			b.navigate(page + "?view=installs")
			b.click(`#installs a.explain-link[href*="workspace=ws-b"]`)
			x, err := e.updater.Explain(t.Context(), "ws-b", "gamma")
			require.NoError(t, err)
			require.NotEmpty(t, x.Reasons)
			assert.Equal(t, len(x.Reasons), b.count("#reasons li"))
			for i, r := range x.Reasons {
				assert.Equal(t, r.Code, b.attr(fmt.Sprintf("#reasons li:nth-child(%d)", i+1), "data-code"))
			}
			assert.Contains(t, b.text("#reasons"), "What would change it")
			screenshot(t, bctx, shots, fmt.Sprintf("integrity-explain-%d.png", width))
		})
	}
}

type rect struct{ x, y, w, h float64 }

// box returns the border box of the element sel selects, in CSS pixels of
// the viewport (the page is not scrolled).
func box(t *testing.T, ctx context.Context, sel string) rect {
	t.Helper()
	m, err := chromedp.Run(ctx, chromedp.Dimensions(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	q := m.Border
	return rect{x: q[0], y: q[1], w: q[2] - q[0], h: q[5] - q[1]}
}
