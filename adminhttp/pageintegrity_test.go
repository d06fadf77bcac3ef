package adminhttp_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// holdOn records an active hold of install ws/plugin by a rollback to
// toSHA that the store recorded as started (no installer runs), and
// returns it.
func (e *env) holdOn(ws, plugin, toSHA, reason string) tracking.Hold {
	e.t.Helper()
	now := e.clock.Now()
	_, h, err := e.store.QueueRollback(e.t.Context(), storage.QueueRollbackParams{
		WorkspaceID: ws, PluginName: plugin, ToSHA: toSHA, Actor: "alice", Reason: reason,
		Token: "test-rollback-" + ws + "-" + plugin, TTL: time.Hour, At: now,
	})
	require.NoError(e.t, err)
	return h
}

// TestPageHoldsTab: the holds tab lists the active holds, then the
// released ones, with who held what, when and why; Release (POST,
// redirect, GET) releases one and the flash says so from the store.
func TestPageHoldsTab(t *testing.T) {
	e := newEnv(t)
	active := e.heldInstall() // ws-c/delta, held at shaHex(7)
	released := e.holdOn("ws-a", "beta", shaHex(9), "flaky")
	_, err := e.updater.ReleaseHold(t.Context(), released.ID, "bob")
	require.NoError(t, err)

	html := e.page("?view=holds")
	assert.Contains(t, html, `aria-current="page" class="current">Holds</a>`)
	act, rel := section(html, "holds-active"), section(html, "holds-released")
	assert.Less(t, strings.Index(html, `id="holds-active"`), strings.Index(html, `id="holds-released"`), "active holds first")
	row := holdRowOf(t, act, active)
	for _, want := range []string{"ws-c", "delta", shaHex(7)[:12], "by alice", "bad release", "Release</button>",
		`href="/admin/?plugin=delta&amp;view=explain&amp;workspace=ws-c"`} {
		assert.Contains(t, row, want)
	}
	assert.NotContains(t, act, fmt.Sprintf(`id="hold-%d"`, released.ID))
	row = holdRowOf(t, rel, released.ID)
	assert.Contains(t, row, "flaky")
	assert.Contains(t, row, "by bob", "who released it")
	assert.NotContains(t, row, "<form", "a released hold has nothing to release")

	// The workspace and plugin filters apply.
	assert.NotContains(t, e.page("?view=holds&workspace=ws-a"), fmt.Sprintf(`id="hold-%d"`, active))
	assert.Contains(t, e.page("?view=holds&plugin=delta"), fmt.Sprintf(`id="hold-%d"`, active))

	got, loc := e.follow(e.postForm(path("/ui/holds/%d/release", active), url.Values{"plugin": {"delta"}}))
	assert.Equal(t, fmt.Sprintf("/admin/?id=%d&op=release&plugin=delta&result=ok&view=holds", active), loc, "back to the tab, filters kept")
	assert.Contains(t, got.Body.String(), "Released the hold on delta abc000000007 in workspace ws-c")
	holdRowOf(t, section(got.Body.String(), "holds-released"), active)
	hs, err := e.updater.ListHolds(t.Context(), "ws-c", "delta", true)
	require.NoError(t, err)
	assert.Empty(t, hs, "released in the store")

	got, _ = e.follow(e.postForm(path("/ui/holds/999/release"), url.Values{}))
	assert.Contains(t, got.Body.String(), "Hold #999 does not exist.")
	// A crafted outcome says only what is true: hold 2 was released, not failed.
	assert.NotContains(t, e.page(fmt.Sprintf("?view=holds&op=release&result=internal&id=%d", released.ID)), `id="flash"`)
	assert.Equal(t, http.StatusBadRequest, e.do(req{method: "GET", path: path("/?view=holds&op=release&result=ok")}).Code, "an outcome names its hold")

	// A viewer sees the holds without Release.
	v := newEnv(t, func(c *adminhttp.Config) {
		c.Authorize = role{name: "viewer", grants: []adminhttp.Operation{adminhttp.OpRead}}.authorize
	})
	v.heldInstall()
	w := v.do(req{method: "GET", path: path("/?view=holds"), noAuth: true})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `id="hold-`)
	assert.Empty(t, formActions(w.Body.String()))
}

// TestPageHoldsPaging: each section pages like the other tables, and a
// cursor that is not one is refused.
func TestPageHoldsPaging(t *testing.T) {
	e := newEnv(t)
	tr := mustTracker(t, e.store, e.clock.Now)
	for i := range 53 {
		ws := fmt.Sprintf("ws-p%02d", i)
		_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: ws, PluginName: "delta", Source: srcBeta, Ref: "branch:main", SHA: shaHex(7)})
		require.NoError(t, err)
		e.holdOn(ws, "delta", shaHex(8), "bad")
	}
	html := e.page("?view=holds")
	act := section(html, "holds-active")
	assert.Equal(t, 50, strings.Count(act, `<tr id="hold-`))
	next := regexp.MustCompile(`<p class="more"><a href="([^"]+)">Next page`).FindStringSubmatch(act)
	require.Len(t, next, 2, "a next page")
	rest := section(e.page(strings.TrimPrefix(strings.ReplaceAll(next[1], "&amp;", "&"), "/admin/")), "holds-active")
	assert.Equal(t, 3, strings.Count(rest, `<tr id="hold-`))
	assert.Contains(t, rest, "ws-p52")
	assert.NotContains(t, rest, "Next page")
	w := e.do(req{method: "GET", path: path("/?view=holds&qc=nope")})
	assert.Equal(t, http.StatusBadRequest, w.Code)
}

func holdRowOf(t *testing.T, html string, id int64) string {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="hold-%d".*?</tr>`, id)).FindString(html)
	require.NotEmpty(t, m, "no row for hold %d", id)
	return m
}

// TestPageExplain: the explanation of one install shows every reason
// Updater.Explain gives, each with what would change it, and links to
// the entry and the holds; the installs tab links to it.
func TestPageExplain(t *testing.T) {
	e := newEnv(t)
	e.verify(e.alpha, unsignedRequired)
	x, err := e.updater.Explain(t.Context(), "ws-a", "alpha")
	require.NoError(t, err)
	require.NotEmpty(t, x.Reasons)

	html := e.page("?view=explain&workspace=ws-a&plugin=alpha")
	ex := section(html, "explain")
	require.NotEmpty(t, ex)
	for _, r := range x.Reasons {
		assert.Contains(t, ex, `data-code="`+r.Code+`"`)
		assert.Contains(t, ex, template.HTMLEscapeString(r.Message))
		if r.Change != "" {
			assert.Contains(t, ex, "What would change it: "+template.HTMLEscapeString(r.Change))
		}
	}
	assert.Contains(t, ex, fmt.Sprintf(`href="/admin/?plugin=alpha&amp;workspace=ws-a#update-%d"`, e.alpha.ID), "links to the entry")
	assert.Contains(t, ex, `href="/admin/?plugin=alpha&amp;view=holds&amp;workspace=ws-a"`, "links to the holds")
	assert.Contains(t, ex, `data-state="unsigned"`, "the open entry's signature check")
	assert.NotContains(t, html, `id="filters"`)

	installs := e.page("?view=installs")
	assert.Contains(t, installs, `href="/admin/?plugin=alpha&amp;view=explain&amp;workspace=ws-a"`, "each install links to its explanation")

	// A held install shows its hold, with Release.
	held := e.heldInstall()
	ex = explainPart(e.page("?view=explain&workspace=ws-c&plugin=delta"), "explain-holds")
	assert.Contains(t, ex, fmt.Sprintf(`id="hold-%d"`, held))
	assert.Contains(t, ex, fmt.Sprintf(`action="/admin/ui/holds/%d/release"`, held))

	for q, status := range map[string]int{
		"?view=explain":                              http.StatusBadRequest,
		"?view=explain&workspace=ws-a":               http.StatusBadRequest,
		"?view=explain&workspace=ws&plugin=alpha":    http.StatusNotFound, // a prefix is not an install
		"?view=explain&workspace=ws-a&plugin=nope":   http.StatusNotFound,
		"?view=explain&workspace=ws-a&plugin=B%20ad": http.StatusBadRequest,
	} {
		w := e.do(req{method: "GET", path: path("/%s", q)})
		assert.Equal(t, status, w.Code, q)
		assert.Contains(t, w.Header().Get("Content-Type"), "text/html", q)
	}
}

// TestPageRollbackForm: the explanation's rollback form rolls back and
// holds, POST, redirect, GET; a bad commit id is refused and changes
// nothing.
func TestPageRollbackForm(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Apply(t.Context(), e.beta.ID, "alice")
	require.NoError(t, err)
	p := path("/ui/installs/ws-a/beta/rollback")
	before := e.all()
	for _, bad := range []url.Values{{"to_sha": {"HEAD"}}, {}, {"to_sha": {shaHex(3)}, "reason": {"a\x1b[31m"}}} {
		w := e.postForm(p, bad)
		assert.Equal(t, http.StatusBadRequest, w.Code, "%v: %s", bad, w.Body.String())
	}
	w := e.postForm(path("/ui/installs/ws-a/nope/rollback"), url.Values{"to_sha": {shaHex(3)}})
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, before, e.all(), "nothing changed")
	assert.Equal(t, 1, e.installer.count())

	got, loc := e.follow(e.postForm(p, url.Values{"to_sha": {shaHex(3)}, "reason": {"breaks login"}}))
	assert.Contains(t, loc, "view=explain")
	assert.Contains(t, loc, "op=rollback")
	body := got.Body.String()
	assert.Contains(t, body, "Rolled beta in workspace ws-a back to abc000000003. A hold keeps abc000000004 from being queued again")
	assert.Contains(t, explainPart(body, "explain-holds"), "breaks login")
	// A crafted outcome says only what is true: alpha is no rollback.
	assert.NotContains(t, e.page(fmt.Sprintf("?view=explain&workspace=ws-a&plugin=alpha&op=rollback&result=ok&id=%d", e.alpha.ID)), `id="flash"`)
	assert.Equal(t, shaHex(3), e.installer.request(1).SHA)
}

// explainPart returns the HTML of one part of the explanation.
func explainPart(html, id string) string {
	return regexp.MustCompile(`(?s)<div class="explain-part" id="` + id + `">.*?</div>`).FindString(html)
}

// TestIntegrityControlsFollowAuthorize: Release shows only to a role
// granted holds, the rollback form only to one granted rollback.
func TestIntegrityControlsFollowAuthorize(t *testing.T) {
	for _, c := range []struct {
		grants            []adminhttp.Operation
		release, rollback bool
	}{
		{[]adminhttp.Operation{adminhttp.OpRead}, false, false},
		{[]adminhttp.Operation{adminhttp.OpRead, adminhttp.OpHolds}, true, false},
		{[]adminhttp.Operation{adminhttp.OpRead, adminhttp.OpRollback}, false, true},
	} {
		e := newEnv(t, func(cfg *adminhttp.Config) { cfg.Authorize = role{name: "op", grants: c.grants}.authorize })
		held := e.heldInstall()
		for _, q := range []string{"?view=holds", "?view=explain&workspace=ws-c&plugin=delta"} {
			w := e.do(req{method: "GET", path: path("/%s", q), noAuth: true})
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
			acts := formActions(w.Body.String())
			assert.Equal(t, c.release, slices.Contains(acts, path("/ui/holds/%d/release", held)), "%v %s: Release", c.grants, q)
			onExplain := strings.Contains(q, "explain")
			assert.Equal(t, c.rollback && onExplain, slices.Contains(acts, path("/ui/installs/ws-c/delta/rollback")), "%v %s: Roll back", c.grants, q)
		}
	}
}
