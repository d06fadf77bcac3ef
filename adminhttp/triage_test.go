package adminhttp_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

type listBody struct {
	Updates []struct {
		ID          int64  `json:"id"`
		WorkspaceID string `json:"workspace_id"`
		PluginName  string `json:"plugin_name"`
		Kind        string `json:"kind"`
		Bump        string `json:"bump"`
		Status      string `json:"status"`
	} `json:"updates"`
	NextCursor string `json:"next_cursor"`
}

func (l listBody) plugins() (out []string) {
	for _, u := range l.Updates {
		out = append(out, u.WorkspaceID+"/"+u.PluginName)
	}
	return out
}

// TestListFilters: plugin, kind, source and workspace prefix filter the
// API's list and the page alike; the bump label is in the JSON.
func TestListFilters(t *testing.T) {
	e := newEnv(t)
	list := func(query string) listBody {
		t.Helper()
		w := e.do(req{method: "GET", path: path("/plugin-updates?%s", query)})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[listBody](t, w)
	}
	assert.Equal(t, []string{"ws-a/alpha"}, list("plugin_name=alpha").plugins())
	assert.Equal(t, []string{"ws-b/gamma"}, list("kind=tag-moved").plugins())
	assert.ElementsMatch(t, []string{"ws-a/alpha", "ws-a/beta"}, list("kind=new-version,new-commit").plugins())
	assert.ElementsMatch(t, []string{"ws-a/alpha", "ws-a/beta"}, list("workspace_prefix=ws-a").plugins())
	assert.ElementsMatch(t, []string{"ws-a/alpha", "ws-a/beta", "ws-b/gamma"}, list("workspace_prefix=ws-").plugins())
	assert.Equal(t, []string{"ws-a/beta"}, list("source="+url.QueryEscape(srcBeta)).plugins())
	assert.Empty(t, list("workspace_prefix=ws-a&kind=tag-moved").Updates)
	assert.Equal(t, "minor", list("plugin_name=alpha").Updates[0].Bump)
	assert.Equal(t, "", list("plugin_name=beta").Updates[0].Bump)
	assert.Equal(t, []string{"ws-a/alpha"}, decode[listBody](t, e.do(req{method: "GET", path: path("/plugin-updates-pending?plugin_name=alpha")})).plugins())

	for _, q := range []string{"kind=moved", "workspace_prefix=a%25", "source=nope%3A%2F%2Fx", "plugin_name=Bad", "order=decided&status=pending", "plugin=alpha"} {
		requireError(t, e.do(req{method: "GET", path: path("/plugin-updates?%s", q)}), http.StatusBadRequest, "bad_request")
	}
	// The page reads the same filters, with the same rules.
	html := e.page("?plugin=alpha")
	assert.Contains(t, html, `data-change="alpha v1.0.0 → v1.1.0"`)
	assert.NotContains(t, html, `data-change="beta `)
	assert.NotContains(t, section(html, "queue"), `id="alarms"`)
	html = e.page("?kind=tag-moved")
	assert.Contains(t, section(html, "alarms"), `id="update-`)
	assert.NotContains(t, html, `class="group"`)
	html = e.page("?workspace=ws-b")
	assert.NotContains(t, html, `class="group"`, "ws-b has only the alarm")
	for _, q := range []string{"?kind=moved", "?workspace=a%25", "?source=ext%3A%3Afoo", "?plugin=Bad", "?kind=new-commit&kind=tag-moved"} {
		w := e.do(req{method: "GET", path: path("/%s", q)})
		assert.Equal(t, http.StatusBadRequest, w.Code, q)
	}
}

// TestHistoryByDecision: the history is newest decision first, whatever
// the order the entries were detected in, with who and why.
func TestHistoryByDecision(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "too new")
	require.NoError(t, err)
	e.clock.Advance(time.Hour)
	_, err = e.updater.Dismiss(t.Context(), e.alpha.ID, "dave", "later")
	require.NoError(t, err)
	hist := section(e.page(""), "history")
	assert.Less(t, strings.Index(hist, rowOf(t, hist, e.alpha.ID)), strings.Index(hist, rowOf(t, hist, e.beta.ID)), "the later decision first")
	assert.Contains(t, rowOf(t, hist, e.alpha.ID), "dave")
	assert.Contains(t, rowOf(t, hist, e.alpha.ID), "later")

	w := e.do(req{method: "GET", path: path("/plugin-updates?order=decided&limit=1")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	first := decode[listBody](t, w)
	require.Len(t, first.Updates, 1)
	assert.Equal(t, e.alpha.ID, first.Updates[0].ID)
	w = e.do(req{method: "GET", path: path("/plugin-updates?order=decided&limit=1&cursor=%s", first.NextCursor)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, e.beta.ID, decode[listBody](t, w).Updates[0].ID)
}

// TestSummaryBar counts the whole queue: pending by kind, alarms and
// failing upstreams, and says when the last and next sweeps are.
func TestSummaryBar(t *testing.T) {
	e := newEnv(t)
	e.resolver.fail(srcBeta, "branch:main", errors.New("git: connection refused"))
	_, err := e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	html := e.page("?workspace=ws-b")
	sum := regexp1(t, `(?s)<dl class="summary" id="summary".*?</dl>`, html)
	assert.Contains(t, sum, `data-kind="new-version">1<`)
	assert.Contains(t, sum, `data-kind="new-commit">1<`)
	assert.Contains(t, sum, `data-kind="tag-moved">1<`)
	assert.Contains(t, sum, `data-kind="history-rewritten">0<`)
	assert.NotContains(t, sum, `data-kind="rollback"`, "a rollback is never pending")
	assert.Contains(t, sum, `id="alarm-count">1<`)
	assert.Contains(t, sum, `id="failing-count">1<`)
	assert.Contains(t, sum, "Last sweep")
	assert.Contains(t, sum, "not scheduled", "the schedule is not started")
}

// TestHealthTab lists upstreams failing first, with their error and next
// retry, and "Check now" checks one at once, past its backoff.
func TestHealthTab(t *testing.T) {
	e := newEnv(t)
	e.resolver.fail(srcBeta, "branch:main", errors.New("git: repository not found"))
	_, err := e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	html := e.page("?view=upstreams")
	ups := section(html, "upstreams")
	require.NotEmpty(t, ups)
	assert.Less(t, strings.Index(ups, srcBeta), strings.Index(ups, srcAlpha), "failing first")
	assert.Contains(t, ups, "repository not found")
	assert.Contains(t, ups, "in 1m", "the next retry, from the sweeper's backoff")
	assert.Contains(t, ups, `aria-label="Check git&#43;https://git.example.com/acme/beta.git @ branch:main now"`)
	assert.NotContains(t, ups, "5m ago", "no push recorded yet")

	// A push webhook naming beta shows when it came.
	src, err := tracking.ParseSource(srcBeta)
	require.NoError(t, err)
	ref, err := tracking.ParseRef("branch:main")
	require.NoError(t, err)
	_, err = e.store.RecordPush(t.Context(), storage.RecordPushParams{
		Keys: []tracking.UpstreamKey{{Source: src, Ref: ref}},
		At:   e.clock.Now().Add(-5 * time.Minute),
	})
	require.NoError(t, err)
	ups = section(e.page("?view=upstreams"), "upstreams")
	assert.Regexp(t, `data-label="Last push"><time datetime="[^"]+" title="[^"]+">5m ago</time>`, ups)

	// A sweep now leaves it alone (backing off); Check now does not.
	calls := e.resolver.callCount()
	_, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, calls+2, e.resolver.callCount(), "the sweep skipped the failing upstream")
	e.resolver.fail(srcBeta, "branch:main", nil)
	w := e.postForm(path("/ui/upstreams/check"), url.Values{"source": {srcBeta}, "ref": {"branch:main"}})
	got, loc := e.follow(w)
	assert.Contains(t, loc, "view=upstreams")
	assert.Equal(t, calls+3, e.resolver.callCount(), "checked at once")
	assert.NotContains(t, section(got.Body.String(), "upstreams"), "repository not found", "the check succeeded")

	// The API's check, and its refusals.
	w = e.do(req{method: "POST", path: path("/upstreams/check"), body: `{"source":"` + srcAlpha + `","ref":"tag:latest"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	requireError(t, e.do(req{method: "POST", path: path("/upstreams/check"), body: `{"source":"github://acme/none","ref":"tag:latest"}`}), http.StatusNotFound, "not_found")
	requireError(t, e.do(req{method: "POST", path: path("/upstreams/check"), body: `{"source":"local://x","ref":"none"}`}), http.StatusBadRequest, "bad_request")
}

// TestInstallsTab: the installs tab and /installs filter by plugin and
// workspace prefix.
func TestInstallsTab(t *testing.T) {
	e := newEnv(t)
	html := e.page("?view=installs&plugin=gamma")
	ins := section(html, "installs")
	assert.Contains(t, ins, "ws-b")
	assert.NotContains(t, ins, "alpha")
	w := e.do(req{method: "GET", path: path("/installs?plugin_name=alpha")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"plugin_name":"alpha"`)
	assert.NotContains(t, w.Body.String(), `"beta"`)
	w = e.do(req{method: "GET", path: path("/installs?workspace_prefix=ws-b")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"gamma"`)
	assert.NotContains(t, w.Body.String(), `"alpha"`)
	requireError(t, e.do(req{method: "GET", path: path("/installs?plugin_name=A")}), http.StatusBadRequest, "bad_request")
}

// TestCompareLinks: github.com, an Enterprise host, and a git host with a
// GitHost template.
func TestCompareLinks(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) {
		c.GitHosts = map[string]adminhttp.GitHost{"git.example.com": {Compare: "{base}/-/compare/{from}...{to}", Commit: "{base}/-/commit/{sha}"}}
	})
	tr := mustTracker(t, e.store, e.clock.Now)
	_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws-e", PluginName: "ent", Source: "github://ghe.example.com/corp/ent", Ref: "branch:main", SHA: shaHex(10)})
	require.NoError(t, err)
	e.resolver.set("github://ghe.example.com/corp/ent", "branch:main", shaHex(11), "")
	_, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	q := section(e.page(""), "queue")
	assert.Contains(t, q, `href="https://github.com/acme/alpha/compare/`+shaHex(1)+`...`+shaHex(2)+`"`)
	assert.Contains(t, q, `href="https://ghe.example.com/corp/ent/compare/`+shaHex(10)+`...`+shaHex(11)+`"`)
	assert.Contains(t, q, `href="https://git.example.com/acme/beta/-/compare/`+shaHex(3)+`...`+shaHex(4)+`"`)
	assert.Contains(t, q, `href="https://git.example.com/acme/beta/-/commit/`+shaHex(4)+`"`)

	_, err = adminhttp.NewHandler(adminhttp.Config{Updater: e.updater, Store: e.store, Authorize: bearerAuthorize,
		GitHosts: map[string]adminhttp.GitHost{"x": {Compare: "https://evil/{from}", Commit: "{base}/{sha}"}}})
	assert.ErrorContains(t, err, "Compare must begin with {base}")
	_, err = adminhttp.NewHandler(adminhttp.Config{Updater: e.updater, Store: e.store, Authorize: bearerAuthorize, GitHubURL: "javascript:alert(1)"})
	assert.ErrorContains(t, err, "GitHubURL")
}

func regexp1(t *testing.T, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindString(s)
	require.NotEmpty(t, m, re)
	return m
}
