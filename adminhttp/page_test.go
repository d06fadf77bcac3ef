package adminhttp_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/tracking"
)

// postForm submits a page form the way a browser on the page does.
func (e *env) postForm(p string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(req{method: "POST", path: p, body: form.Encode(), contentType: "application/x-www-form-urlencoded",
		header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}})
}

// follow performs the GET a browser makes after a 303, with the cookies
// the response set.
func (e *env) follow(w *httptest.ResponseRecorder) (*httptest.ResponseRecorder, string) {
	e.t.Helper()
	require.Equal(e.t, http.StatusSeeOther, w.Code, w.Body.String())
	loc := w.Header().Get("Location")
	hr := httptest.NewRequestWithContext(e.t.Context(), "GET", loc, nil)
	hr.Header.Set("Authorization", "Bearer alice-token")
	for _, c := range w.Result().Cookies() {
		hr.AddCookie(c)
	}
	got := httptest.NewRecorder()
	e.handler.ServeHTTP(got, hr)
	require.Equal(e.t, http.StatusOK, got.Code, got.Body.String())
	return got, loc
}

func (e *env) page(query string) string {
	e.t.Helper()
	w := e.do(req{method: "GET", path: path("/%s", query)})
	require.Equal(e.t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(e.t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
	return w.Body.String()
}

// rowOf returns the HTML of the table row of entry id.
func rowOf(t *testing.T, html string, id int64) string {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="update-%d"[^>]*>.*?</tr>`, id)).FindString(html)
	require.NotEmpty(t, m, "no row for update %d", id)
	return m
}

// groupOf returns the HTML of the queue's group of one change.
func groupOf(t *testing.T, html, change string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<div class="group" data-change="` + regexp.QuoteMeta(change) + `">.*?</table>`).FindString(html)
	require.NotEmpty(t, m, "no group for %s", change)
	return m
}

// section returns the HTML of the section with the given id.
func section(html, id string) string {
	if id == "alarms" {
		return regexp.MustCompile(`(?s)<table class="cards alarms" id="alarms">.*?</table>`).FindString(html)
	}
	return regexp.MustCompile(`(?s)<section class="panel" id="` + id + `">.*?</section>`).FindString(html)
}

func TestPageShowsQueue(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(3*time.Hour + 20*time.Minute)
	e.installer.failWith = errors.New("disk full on /srv/plugins")
	_, err := e.updater.Apply(t.Context(), e.beta.ID, "carol")
	require.Error(t, err)

	w := e.do(req{method: "GET", path: path("/")})
	require.Equal(t, http.StatusOK, w.Code)
	html := w.Body.String()
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'none'")
	assert.Contains(t, w.Header().Get("Content-Security-Policy"), "form-action 'self'")
	assert.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.NotContains(t, html, "<script", "the page needs no JavaScript")
	assert.Contains(t, html, "Signed in as <strong>alice</strong>")

	queue := section(html, "queue")
	require.NotEmpty(t, queue)
	// Each change is one group, with its workspaces' rows.
	group := groupOf(t, queue, "alpha v1.0.0 → v1.1.0")
	assert.Contains(t, group, "<strong>alpha</strong>")
	assert.Contains(t, group, "tag:latest")
	assert.Contains(t, group, ">"+shaHex(1)[:12]+"</code>", "short SHA: 12 characters")
	assert.Contains(t, group, `title="`+shaHex(2)+`"`, "the full SHA on hover")
	assert.NotContains(t, group, ">"+shaHex(2)+"<")
	assert.Contains(t, group, "v1.0.0 → v1.1.0")
	assert.Contains(t, group, "New version")
	assert.Contains(t, group, ">minor</span>", "the semver bump")
	assert.Contains(t, group, `href="https://github.com/acme/alpha/compare/`+shaHex(1)+"..."+shaHex(2)+`"`, "the compare link")
	assert.Contains(t, group, `href="https://github.com/acme/alpha/commit/`+shaHex(2)+`"`, "the commit link")
	alpha := rowOf(t, group, e.alpha.ID)
	assert.Contains(t, alpha, "ws-a")
	assert.Contains(t, alpha, ">3h ago</time>")
	assert.Contains(t, alpha, `aria-label="Apply alpha v1.1.0 to ws-a"`, "the button says what it acts on")
	assert.Contains(t, alpha, `datetime="2031-03-04T09:00:00Z"`)
	assert.Contains(t, alpha, ">Apply</button>")
	assert.Contains(t, alpha, ">Dismiss</button>")
	assert.NotContains(t, alpha, "Tag moved")

	beta := rowOf(t, queue, e.beta.ID)
	assert.Contains(t, beta, "disk full on …/plugins", "the last install error is shown, without the local path")
	assert.Contains(t, beta, "1 failed attempt<")
	assert.Contains(t, groupOf(t, queue, "beta "+shaHex(3)[:12]+" → "+shaHex(4)[:12]), "New commit")
	assert.NotContains(t, groupOf(t, queue, "beta "+shaHex(3)[:12]+" → "+shaHex(4)[:12]), "/compare/", "no links for a git host without a GitHost")

	assert.Less(t, strings.Index(queue, `id="alarms"`), strings.Index(queue, `class="group"`), "alarms are pinned first")
	gamma := rowOf(t, section(queue, "alarms"), e.gamma.ID)
	assert.Contains(t, gamma, `class="alarm"`)
	assert.Contains(t, gamma, "⚠ Tag moved")
	assert.Contains(t, gamma, "tampered")
	assert.Contains(t, gamma, `name="confirm" value="tag-moved" required`)

	assert.Contains(t, section(html, "history"), "No decided updates yet.")
	assert.Contains(t, html, `id="sweep-now"`)
}

func TestPageAges(t *testing.T) {
	for _, c := range []struct {
		after time.Duration
		want  string
	}{
		{10 * time.Second, "just now"},
		{5 * time.Minute, "5m ago"},
		{47 * time.Hour, "47h ago"},
		{72 * time.Hour, "3d ago"},
		{90 * 24 * time.Hour, "4 Mar 2031"},
	} {
		e := newEnv(t)
		e.clock.Advance(c.after)
		assert.Contains(t, rowOf(t, e.page(""), e.alpha.ID), ">"+c.want+"</time>", c.after)
	}
}

func TestPageFilters(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "later")
	require.NoError(t, err)

	html := e.page("?workspace=ws-b")
	assert.Contains(t, html, fmt.Sprintf(`id="update-%d"`, e.gamma.ID))
	assert.NotContains(t, html, fmt.Sprintf(`id="update-%d"`, e.alpha.ID))
	assert.NotContains(t, html, fmt.Sprintf(`id="update-%d"`, e.beta.ID))
	assert.Contains(t, html, `value="ws-b"`, "the filter form keeps its value")
	assert.Contains(t, html, "Clear filters")

	html = e.page("?status=dismissed")
	assert.Empty(t, section(html, "queue"), "a decided status shows only that list")
	assert.Contains(t, rowOf(t, html, e.beta.ID), "later")
	assert.NotContains(t, html, fmt.Sprintf(`id="update-%d"`, e.alpha.ID))
	assert.Contains(t, html, `<option value="dismissed" selected>`)

	html = e.page("?status=pending&workspace=ws-a")
	assert.Empty(t, section(html, "history"))
	assert.Contains(t, html, fmt.Sprintf(`id="update-%d"`, e.alpha.ID))
	assert.NotContains(t, html, fmt.Sprintf(`id="update-%d"`, e.gamma.ID))

	for _, q := range []string{"?workspace=%3Cb%3Ebad", "?status=deleted", "?qc=zz", "?hc=" + base64.RawURLEncoding.EncodeToString([]byte("a1"))} {
		w := e.do(req{method: "GET", path: path("/%s", q)})
		assert.Equal(t, http.StatusBadRequest, w.Code, q)
		assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
		assert.NotContains(t, w.Body.String(), "<b>bad")
	}
}

func TestPageApplyRecordsActorAndRedirects(t *testing.T) {
	e := newEnv(t)
	w := e.postForm(path("/ui/plugin-updates/%d/apply", e.alpha.ID), url.Values{"workspace": {"ws-a"}})
	got, loc := e.follow(w)
	assert.Equal(t, fmt.Sprintf("/admin/?id=%d&op=apply&result=ok&workspace=ws-a", e.alpha.ID), loc, "back to the page, filters kept, the outcome named")
	assert.Empty(t, w.Result().Cookies(), "no cookie carries the outcome")
	assert.Equal(t, 1, e.installer.count())
	u := e.get(e.alpha.ID)
	assert.Equal(t, tracking.StatusApplied, u.Status)
	assert.Equal(t, "alice", u.DecidedBy, "the page records the actor too")

	html := got.Body.String()
	assert.Contains(t, html, `class="flash flash-ok"`)
	assert.Contains(t, html, "Applied alpha v1.1.0 to workspace ws-a.")
	require.NotEmpty(t, section(html, "queue"))
	assert.NotContains(t, section(html, "queue"), fmt.Sprintf(`id="update-%d"`, e.alpha.ID), "the row left the queue")
	hist := rowOf(t, section(html, "history"), e.alpha.ID)
	assert.Contains(t, hist, "applied")
	assert.Contains(t, hist, "alice")
	assert.NotContains(t, e.page("?workspace=ws-a"), "flash-ok", "the page without the outcome shows none")
}

func TestPageApplyErrors(t *testing.T) {
	e := newEnv(t)
	// A moved tag needs the confirmation box.
	got, _ := e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", e.gamma.ID), url.Values{}))
	assert.Contains(t, got.Body.String(), "I compared the commits")
	assert.Contains(t, got.Body.String(), "flash-error")
	assert.Zero(t, e.installer.count())
	_, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", e.gamma.ID), url.Values{"confirm": {"tag-moved"}}))
	assert.Equal(t, 1, e.installer.count())
	assert.Equal(t, tracking.StatusApplied, e.get(e.gamma.ID).Status)

	e.installer.failWith = errors.New("registry said 503")
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", e.alpha.ID), url.Values{}))
	assert.Contains(t, got.Body.String(), "Installing alpha v1.1.0 in workspace ws-a failed; the update is pending again (attempt 1)")
	assert.Contains(t, rowOf(t, got.Body.String(), e.alpha.ID), "registry said 503")

	e.installer.failWith = nil
	e.restarter.failWith = errors.New("restart refused")
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", e.alpha.ID), url.Values{}))
	assert.Contains(t, got.Body.String(), "restarting the workspace failed")
	hist := rowOf(t, section(got.Body.String(), "history"), e.alpha.ID)
	assert.Contains(t, hist, "Restart failed: restart refused")
	assert.Contains(t, hist, "Retry restart")

	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/777/apply"), url.Values{}))
	assert.Contains(t, got.Body.String(), "Update #777 does not exist.")
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/777/apply"), url.Values{"confirm": {"tag-moved"}}))
	assert.Contains(t, got.Body.String(), "Update #777 does not exist.")

	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "")
	require.NoError(t, err)
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", e.beta.ID), url.Values{}))
	assert.Contains(t, got.Body.String(), fmt.Sprintf("Update #%d is dismissed, so it cannot be applied", e.beta.ID))
}

func TestPageDismissEscapesReason(t *testing.T) {
	e := newEnv(t)
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	got, _ := e.follow(e.postForm(path("/ui/plugin-updates/%d/dismiss", e.alpha.ID), url.Values{"reason": {hostile}, "status": {"dismissed"}}))
	u := e.get(e.alpha.ID)
	assert.Equal(t, tracking.StatusDismissed, u.Status)
	assert.Equal(t, "alice", u.DecidedBy)
	assert.Equal(t, hostile, u.Reason, "stored byte for byte")

	html := got.Body.String()
	assert.NotContains(t, html, "<script>")
	assert.NotContains(t, html, "<img src=x")
	assert.Contains(t, html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	assert.Contains(t, html, "Dismissed alpha v1.0.0 → v1.1.0 in workspace ws-a.")

	// A reason the updater cannot record is refused, nothing changed.
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/dismiss", e.beta.ID), url.Values{"reason": {strings.Repeat("x", 1001)}}))
	assert.Contains(t, got.Body.String(), fmt.Sprintf("Update #%d was not dismissed: the reason must be at most 1000 bytes", e.beta.ID), "the flash says why")
	assert.Equal(t, tracking.StatusPending, e.get(e.beta.ID).Status)
	got, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/dismiss", e.beta.ID), url.Values{"reason": {"a\x1b[31mb"}}))
	assert.Contains(t, got.Body.String(), "was not dismissed")
	assert.Equal(t, tracking.StatusPending, e.get(e.beta.ID).Status)
}

func TestPageEscapesStoredStrings(t *testing.T) {
	e := newEnv(t)
	e.installer.failWith = errors.New(`<script>document.location="//evil"</script>`)
	_, err := e.updater.Apply(t.Context(), e.alpha.ID, "carol")
	require.Error(t, err)
	html := e.page("")
	assert.NotContains(t, html, "<script>")
	assert.Contains(t, html, "&lt;script&gt;document.location=&#34;//evil&#34;&lt;/script&gt;")
}

func TestPageSweepNow(t *testing.T) {
	e := newEnv(t)
	e.resolver.set(srcAlpha, "tag:latest", shaHex(9), "v1.3.0")
	e.resolver.fail(srcBeta, "branch:main", errors.New("remote: <b>Repository not found</b>"))
	got, _ := e.follow(e.postForm(path("/ui/sweeps"), url.Values{"workspace": {"ws-a"}}))
	html := got.Body.String()
	assert.Contains(t, html, "Sweep done, but 1 upstream could not be resolved.")
	last := section(html, "last-sweep")
	assert.Contains(t, last, `id="sweep-report"`)
	assert.Contains(t, last, "<dt>Queued</dt><dd>1</dd>")
	assert.Contains(t, last, "<dt>Upstreams</dt><dd>3</dd>")
	assert.Contains(t, last, "&lt;b&gt;Repository not found&lt;/b&gt;")
	assert.Contains(t, html, `value="ws-a"`, "filters kept")
}

func TestPageFormsRefuseBadRequests(t *testing.T) {
	e := newEnv(t)
	p := path("/ui/plugin-updates/%d/dismiss", e.alpha.ID)
	for name, c := range map[string]struct {
		body, contentType string
		status            int
	}{
		"json":      {`{"reason":"x"}`, "application/json", 415},
		"multipart": {"--x--", "multipart/form-data; boundary=x", 415},
		"1 MiB":     {"reason=" + strings.Repeat("a", 1<<20), "application/x-www-form-urlencoded", 413},
		"bad form":  {"reason=%zz", "application/x-www-form-urlencoded", 400},
	} {
		w := e.do(req{method: "POST", path: p, body: c.body, contentType: c.contentType})
		assert.Equal(t, c.status, w.Code, name)
		assert.Contains(t, w.Header().Get("Content-Type"), "text/html", name)
	}
	for _, id := range []string{"0", "01", "-3", "%2e%2e", "99999999999999999999"} {
		w := e.do(req{method: "POST", path: path("/ui/plugin-updates/%s/apply", id)})
		assert.Equal(t, http.StatusBadRequest, w.Code, id)
	}
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)
	assert.Zero(t, e.installer.count())
}

func TestPageRedirectNeverLeavesThePage(t *testing.T) {
	e := newEnv(t)
	w := e.postForm(path("/ui/plugin-updates/%d/dismiss", e.alpha.ID),
		url.Values{"workspace": {"//evil.example/"}, "status": {"https://evil.example"}, "next": {"https://evil.example"}})
	require.Equal(t, http.StatusSeeOther, w.Code)
	assert.Equal(t, fmt.Sprintf("/admin/?id=%d&op=dismiss&result=ok", e.alpha.ID), w.Header().Get("Location"), "invalid filters are dropped")
}

func TestPagePagination(t *testing.T) {
	e := newEnv(t)
	tr := mustTracker(e.t, e.store, e.clock.Now)
	for i := range 60 {
		_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{
			WorkspaceID: fmt.Sprintf("bulk-%02d", i), PluginName: "alpha", Source: srcAlpha, Ref: "tag:latest", SHA: shaHex(1),
		})
		require.NoError(t, err)
	}
	_, err := e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)

	html := e.page("")
	queue := section(html, "queue")
	assert.Equal(t, 51, strings.Count(queue, `<tr id="update-`), "50 entries and the alarm pinned above them")
	next := regexp.MustCompile(`<a href="([^"]+)">Next page →</a>`).FindStringSubmatch(queue)
	require.Len(t, next, 2)
	second := e.page(strings.TrimPrefix(strings.ReplaceAll(next[1], "&amp;", "&"), "/admin/"))
	assert.Equal(t, 12, strings.Count(section(second, "queue"), `<tr id="update-`))
	assert.NotContains(t, section(second, "queue"), "Next page")
}

func TestStylesheet(t *testing.T) {
	e := newEnv(t)
	html := e.page("")
	href := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindStringSubmatch(html)
	require.Len(t, href, 2)
	w := e.do(req{method: "GET", path: strings.ReplaceAll(href[1], "&amp;", "&")})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "text/css; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Contains(t, w.Body.String(), ".badge-alarm")
	// The stylesheet is served without authorization, so that the error
	// pages of refused requests are styled; it holds nothing but style.
	w = e.do(req{method: "GET", path: path("/static/admin.css"), noAuth: true})
	assert.Equal(t, http.StatusOK, w.Code)
}

// TestPageRefusesWhatTheAPIRefuses: the page reads its query with the
// API's parser, so a pair Go's parser would drop, a repeated parameter or
// an unknown one is a 400 with the API's message, not an unfiltered page.
func TestPageRefusesWhatTheAPIRefuses(t *testing.T) {
	e := newEnv(t)
	for name, c := range map[string]struct{ page, api string }{
		"semicolon":          {"workspace=ws;DROP", "workspace_id=ws;DROP"},
		"semicolon pair":     {"workspace=ws-a&a;b=c", "workspace_id=ws-a&a;b=c"},
		"repeated workspace": {"workspace=ws-a&workspace=ws-b", "workspace_id=ws-a&workspace_id=ws-b"},
		"unknown parameter":  {"wrkspace=ws-a", "wrkspace_id=ws-a"},
		"bad escape":         {"workspace=%zz", "workspace_id=%zz"},
	} {
		t.Run(name, func(t *testing.T) {
			api := requireError(t, e.do(req{method: "GET", path: path("/plugin-updates?%s", c.api)}), 400, "bad_request")
			w := e.do(req{method: "GET", path: path("/?%s", c.page)})
			require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
			assert.Contains(t, w.Header().Get("Content-Type"), "text/html")
			msg := template.HTMLEscapeString(strings.ReplaceAll(api.Error.Message, "workspace_id", "workspace"))
			if name == "unknown parameter" {
				msg = template.HTMLEscapeString(`unknown query parameter "wrkspace"`)
			}
			assert.Contains(t, w.Body.String(), msg, "the API's words")
			assert.NotContains(t, w.Body.String(), fmt.Sprintf(`id="update-%d"`, e.alpha.ID), "no list")
		})
	}
	w := e.do(req{method: "GET", path: path("/?status=pending&status=applied")})
	assert.Equal(t, http.StatusBadRequest, w.Code, "one status at a time")
}

// TestPagePlantedFlashCookieIsIgnored: a cookie set from a sibling
// subdomain cannot put words on the page.
func TestPagePlantedFlashCookieIsIgnored(t *testing.T) {
	e := newEnv(t)
	planted := base64.RawURLEncoding.EncodeToString([]byte(`{"k":"ok","m":"Your session expired: sign in again at https://evil.example"}`))
	hr := httptest.NewRequestWithContext(t.Context(), "GET", "/admin/", nil)
	hr.Header.Set("Authorization", "Bearer alice-token")
	hr.Header.Set("Cookie", "plugindrift_flash="+planted)
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, hr)
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), "evil.example")
	assert.NotContains(t, w.Body.String(), `id="flash"`)
}

// TestPageCraftedOutcomeSaysOnlyWhatIsTrue: the outcome of a form post
// travels as a code and an entry id; the page words it from the entry's
// state in the store, so a crafted link shows nothing that is not so.
func TestPageCraftedOutcomeSaysOnlyWhatIsTrue(t *testing.T) {
	e := newEnv(t)
	flashOf := func(query string) string {
		t.Helper()
		return regexp.MustCompile(`(?s)<div class="flash[^"]*" role="status" id="flash">.*?</div>`).FindString(e.page(query))
	}
	for _, q := range []string{
		fmt.Sprintf("?op=apply&result=ok&id=%d", e.alpha.ID),             // alpha is pending
		fmt.Sprintf("?op=dismiss&result=ok&id=%d", e.beta.ID),            // so is beta
		fmt.Sprintf("?op=apply&result=install_failed&id=%d", e.alpha.ID), // no install failed
		fmt.Sprintf("?op=apply&result=restart_failed&id=%d", e.alpha.ID),
		fmt.Sprintf("?op=apply&result=busy&id=%d", e.alpha.ID),
		fmt.Sprintf("?op=apply&result=conflict&id=%d", e.alpha.ID),
		fmt.Sprintf("?op=apply&result=not_found&id=%d", e.alpha.ID), // it exists
		fmt.Sprintf("?op=apply&result=confirm_tag_moved&id=%d", e.alpha.ID),
		fmt.Sprintf("?op=dismiss&result=bad_request&id=%d", e.gamma.ID+1000),
	} {
		assert.Empty(t, flashOf(q), q)
	}
	for _, q := range []string{
		"?op=apply&result=ok&id=1&m=You+were+hacked", // no free text, ever
		"?op=apply&result=%3Cscript%3E&id=1",
		"?op=apply&result=ok",      // no id
		"?op=apply&result=ok&id=0", // not an id
		"?op=sweep&id=1",
		"?op=delete&result=ok&id=1",
		"?result=ok&id=1",
		"?op=apply&op=apply&result=ok&id=1",
	} {
		w := e.do(req{method: "GET", path: path("/%s", q)})
		assert.Equal(t, http.StatusBadRequest, w.Code, q)
		assert.NotContains(t, w.Body.String(), "hacked", q)
	}

	// What is true is said, as often as the link is followed.
	_, err := e.updater.Apply(t.Context(), e.alpha.ID, "carol")
	require.NoError(t, err)
	for range 2 {
		assert.Contains(t, flashOf(fmt.Sprintf("?op=apply&result=ok&id=%d", e.alpha.ID)), "Applied alpha v1.1.0 to workspace ws-a.")
	}
	assert.Contains(t, flashOf(fmt.Sprintf("?op=dismiss&result=conflict&id=%d", e.alpha.ID)),
		fmt.Sprintf("Update #%d is applied, so it cannot be dismissed; nothing was changed.", e.alpha.ID))
	assert.Contains(t, flashOf("?op=apply&result=not_found&id=424242"), "Update #424242 does not exist.")
}

// TestPageEscapesEveryUpstreamField fills every page field that carries
// text from upstream, the installer, the restarter, an operator or
// Authorize with markup, and checks that each is shown escaped.
func TestPageEscapesEveryUpstreamField(t *testing.T) {
	const actor = `<script>actor()</script>`
	e := newEnv(t, func(c *adminhttp.Config) {
		c.Authorize = func(*http.Request, adminhttp.Operation) (string, error) { return actor, nil }
	})
	payload := func(name string) string { return "<script>" + name + "()</script>" }
	escaped := func(name string) string { return "&lt;script&gt;" + name + "()&lt;/script&gt;" }
	src := "github://acme/x#tag:" + payload("source")
	ref := "tag:" + payload("ref")
	failing := "github://acme/y#tag:" + payload("failingSource")
	tr := mustTracker(e.t, e.store, e.clock.Now)
	for _, rec := range []tracking.InstallRecord{
		{WorkspaceID: "ws-x", PluginName: "pending", Source: src, Ref: ref, SHA: shaHex(50), Version: "v1" + payload("fromVersion")},
		{WorkspaceID: "ws-x", PluginName: "restarted", Source: src, Ref: ref, SHA: shaHex(50), Version: "v1" + payload("fromVersion")},
		{WorkspaceID: "ws-x", PluginName: "failing", Source: failing, Ref: "tag:" + payload("failingRef"), SHA: shaHex(50)},
	} {
		_, err := tr.RecordInstall(t.Context(), rec)
		require.NoError(t, err)
	}
	e.resolver.set(src, ref, shaHex(51), "v2"+payload("toVersion"))
	e.resolver.fail(failing, "tag:"+payload("failingRef"), errors.New(payload("sweepError")))
	_, err := e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	ids := map[string]int64{}
	for _, u := range e.all() {
		ids[u.PluginName] = u.ID
	}

	e.installer.failWith = errors.New(payload("lastError"))
	_, err = e.updater.Apply(t.Context(), ids["pending"], actor)
	require.Error(t, err)
	e.installer.failWith = nil
	e.restarter.failWith = errors.New(payload("restartError"))
	_, err = e.updater.Apply(t.Context(), ids["restarted"], actor)
	require.Error(t, err)
	_, err = e.updater.Dismiss(t.Context(), e.alpha.ID, actor, payload("reason"))
	require.NoError(t, err)
	// The signature check quotes upstream: the signer, who judged, the
	// detail; an operator wrote the override.
	e.verify(e.get(ids["pending"]), tracking.Verification{State: tracking.VerificationUntrustedSigner,
		Signer: payload("signer"), By: payload("by"), Detail: payload("detail"), Required: true})
	e.verify(e.beta, tracking.Verification{State: tracking.VerificationUnsigned, Detail: "unsigned", Required: true})
	restartErr := e.restarter.failWith
	e.restarter.failWith = nil
	_, err = e.updater.ApplyUnverified(t.Context(), e.beta.ID, actor, payload("override"))
	require.NoError(t, err)
	e.restarter.failWith = restartErr

	html := e.page("")
	assert.NotContains(t, html, "<script", "no markup from any field reaches the page")
	for _, field := range []string{"actor", "source", "ref", "fromVersion", "toVersion", "lastError", "restartError", "reason",
		"sweepError", "failingSource", "failingRef", "signer", "by", "detail", "override"} {
		assert.Contains(t, html, escaped(field), field)
	}
	assert.Contains(t, rowOf(t, section(html, "queue"), ids["pending"]), escaped("signer"))
	assert.Contains(t, rowOf(t, section(html, "queue"), ids["pending"]), escaped("detail"))
	assert.Contains(t, rowOf(t, section(html, "history"), e.beta.ID), escaped("override"))
	assert.Contains(t, rowOf(t, section(html, "queue"), ids["pending"]), escaped("lastError"))
	assert.Contains(t, rowOf(t, section(html, "history"), ids["restarted"]), escaped("restartError"))
	assert.Contains(t, rowOf(t, section(html, "history"), ids["restarted"]), escaped("actor"), "decided_by")
	assert.Contains(t, rowOf(t, section(html, "history"), e.alpha.ID), escaped("reason"))
	assert.Contains(t, section(html, "last-sweep"), escaped("sweepError"))
	assert.Contains(t, html, "Signed in as <strong>"+escaped("actor")+"</strong>")

	// The flash after a form post says the same things escaped.
	got, _ := e.follow(e.postForm(path("/ui/plugin-updates/%d/apply", ids["restarted"]), url.Values{}))
	assert.NotContains(t, got.Body.String(), "<script")
	assert.Contains(t, got.Body.String(), "restarting the workspace failed")
}
