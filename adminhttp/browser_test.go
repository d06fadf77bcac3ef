package adminhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// chromiumPath finds Debian's chromium. Without it the browser test skips,
// unless PLUGINDRIFT_REQUIRE_BROWSER=1 (as in CI) makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	const why = "no chromium on PATH or at /usr/bin/chromium (apt-get install chromium)"
	if os.Getenv("PLUGINDRIFT_REQUIRE_BROWSER") == "1" {
		t.Fatal(why + ", and PLUGINDRIFT_REQUIRE_BROWSER=1")
	}
	t.Skip(why)
	return ""
}

// screenshot saves a PNG of the whole page into dir, and into
// $PLUGINDRIFT_SCREENSHOT_DIR too when that is set (to look at it).
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	if keep := os.Getenv("PLUGINDRIFT_SCREENSHOT_DIR"); keep != "" {
		require.NoError(t, os.WriteFile(filepath.Join(keep, name), png, 0o644))
	}
}

// startBrowser starts headless Chromium with JavaScript turned off and
// every request carrying alice's bearer token, for at most timeout; extra
// adds to or overrides the allocator options (window size, flags). The
// browser closes when the test ends.
func startBrowser(t *testing.T, bin string, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(allocCancel)
	bctx, bcancel := chromedp.NewContext(allocCtx)
	t.Cleanup(bcancel)

	require.NoError(t, chromedp.Do(bctx), "start chromium")
	_, err := chromedp.Call(bctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(bctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer alice-token"},
	})
	require.NoError(t, err)
	_, err = chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	return bctx
}

// TestBrowser drives the admin page in headless Chromium with JavaScript
// turned off: it sees the queue, applies one entry, dismisses another with
// a reason, runs a sweep, and has a cross-site form post refused.
func TestBrowser(t *testing.T) {
	bin := chromiumPath(t)
	e := newEnv(t)
	e.clock.Advance(3 * time.Hour)
	srv := httptest.NewServer(e.handler) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	bctx := startBrowser(t, bin, 90*time.Second, chromedp.WindowSize(1440, 900))

	shots := t.TempDir()
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return s
	}
	count := func(sel string) int {
		t.Helper()
		ids, err := chromedp.Run(bctx, chromedp.QueryNodeIDs(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
		require.NoError(t, err, sel)
		return len(ids)
	}
	click := func(sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		require.Equal(t, int64(http.StatusOK), resp.Status, sel)
	}
	row := func(id int64) string { return fmt.Sprintf("#update-%d", id) }

	// The queue.
	resp, err := chromedp.Run(bctx, chromedp.NavigateResponse(srv.URL+"/admin/"))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), resp.Status)
	require.NoError(t, chromedp.Do(bctx, chromedp.WaitVisible(chromedp.CSS("#queue"))))
	assert.Equal(t, 3, count("#queue tbody tr"))
	assert.Contains(t, text(`.group[data-change^="alpha "] .group-head`), shaHex(1)[:12]+" → "+shaHex(2)[:12])
	assert.Contains(t, text(row(e.alpha.ID)+" .when"), "3h ago")
	assert.Contains(t, text(row(e.gamma.ID)+" .kind"), "Tag moved")
	screenshot(t, bctx, shots, "admin-queue.png")

	// Apply alpha: the installer runs once and the row moves to the history.
	click(row(e.alpha.ID) + " form.apply button")
	assert.Contains(t, text("#flash"), "Applied alpha v1.1.0 to workspace ws-a.")
	assert.Equal(t, 1, e.installer.count())
	assert.Equal(t, shaHex(2), e.installer.request(0).SHA)
	assert.Zero(t, count("#queue "+row(e.alpha.ID)))
	assert.Contains(t, text("#history "+row(e.alpha.ID)), "alice")
	assert.Equal(t, "alice", e.get(e.alpha.ID).DecidedBy)

	// Dismiss beta with a reason.
	reason := `not this week <b>really</b>`
	require.NoError(t, chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(row(e.beta.ID)+" form.dismiss input[name=reason]"), reason)))
	click(row(e.beta.ID) + " form.dismiss button")
	assert.Contains(t, text("#flash"), "Dismissed beta")
	assert.Contains(t, text("#history "+row(e.beta.ID)), reason, "shown as text, not markup")
	u := e.get(e.beta.ID)
	assert.Equal(t, tracking.StatusDismissed, u.Status)
	assert.Equal(t, reason, u.Reason)
	assert.Equal(t, "alice", u.DecidedBy)

	// Sweep now: upstream of alpha moved again.
	e.resolver.set(srcAlpha, "tag:latest", shaHex(8), "v1.2.0")
	click("#sweep-now")
	report := text("#sweep-report")
	assert.Contains(t, report, "Queued")
	assert.Contains(t, text("#flash"), "Sweep done: 1 new update queued.")
	assert.Equal(t, 2, count("#queue tbody tr"), "gamma and the new alpha")
	assert.Equal(t, 1, e.installer.count())
	screenshot(t, bctx, shots, "admin-after.png")

	// A form on another site that posts to the admin page is refused, even
	// though the browser sends the operator's credentials.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/admin/ui/plugin-updates/%d/apply">
<input type="hidden" name="confirm" value="tag-moved"><button id="go">Win a prize</button></form>`, srv.URL, e.gamma.ID)
	}))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) // another site
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(evilURL)))
	resp, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.ID("go")))
	require.NoError(t, err)
	assert.Equal(t, int64(http.StatusForbidden), resp.Status)
	assert.Equal(t, 1, e.installer.count(), "the cross-site post installed nothing")
	assert.Equal(t, tracking.StatusPending, e.get(e.gamma.ID).Status)
}
