package adminhttp_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
)

// role is an Authorize that grants some operations: nil grants means the
// caller is not signed in (ErrUnauthenticated).
type role struct {
	name   string
	grants []adminhttp.Operation
}

func (ro role) authorize(_ *http.Request, op adminhttp.Operation) (string, error) {
	switch {
	case ro.grants == nil:
		return "", adminhttp.ErrUnauthenticated
	case slices.Contains(ro.grants, op):
		return ro.name, nil
	}
	return "", adminhttp.ErrForbidden
}

// roles are the roles of the authorization table: signed out, known but
// granted nothing, read-only, admin, and one role per operation that is
// granted that operation alone.
func roles() []role {
	rs := []role{
		{name: "signed-out"},
		{name: "nobody", grants: []adminhttp.Operation{}},
		{name: "viewer", grants: []adminhttp.Operation{adminhttp.OpRead}},
		{name: "admin", grants: adminhttp.Operations()},
	}
	for _, op := range adminhttp.Operations() {
		rs = append(rs, role{name: "only-" + string(op), grants: []adminhttp.Operation{op}})
	}
	return rs
}

// TestAuthorizationTable runs every route under every role: a route
// succeeds exactly when the role is granted the route's operation;
// otherwise it answers 401 (signed out) or 403, and nothing changes.
func TestAuthorizationTable(t *testing.T) {
	for _, ro := range roles() {
		// Entry ids depend on the order of a sweep: each case takes its
		// route from its own env.
		for i, probe := range guardedRoutes(newEnv(t)) {
			t.Run(ro.name+" "+probe.method+" "+probe.path, func(t *testing.T) {
				e := newEnv(t, func(c *adminhttp.Config) { c.Authorize = ro.authorize })
				rt := guardedRoutes(e)[i]
				before := e.all()
				w := e.do(req{method: rt.method, path: rt.path, body: rt.body, contentType: rt.contentType, noAuth: true})
				granted := slices.Contains(ro.grants, rt.op)
				if granted {
					assert.Less(t, w.Code, 400, "%s may %s: %s", ro.name, rt.op, w.Body.String())
					return
				}
				want := http.StatusForbidden
				if ro.grants == nil {
					want = http.StatusUnauthorized
				}
				require.Equal(t, want, w.Code, "%s may not %s: %s", ro.name, rt.op, w.Body.String())
				assert.Zero(t, e.installer.count(), "the installer was not called")
				assert.Equal(t, before, e.all(), "nothing changed")
			})
		}
	}
}

// forms finds the actions of the page's POST forms.
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

func formActions(html string) []string {
	var out []string
	for _, m := range formAction.FindAllStringSubmatch(html, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPageHidesWhatTheActorMayNotDo: a viewer sees the queue without any
// form; a role granted dismiss alone sees only the dismiss forms; an
// admin sees them all.
func TestPageHidesWhatTheActorMayNotDo(t *testing.T) {
	view := func(ro role) string {
		e := newEnv(t, func(c *adminhttp.Config) { c.Authorize = ro.authorize })
		w := e.do(req{method: "GET", path: path("/"), noAuth: true})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return w.Body.String()
	}
	viewer := view(role{name: "viewer", grants: []adminhttp.Operation{adminhttp.OpRead}})
	assert.Contains(t, viewer, `id="update-`, "the viewer sees the queue")
	assert.Empty(t, formActions(viewer), "the viewer is offered no action")
	assert.NotContains(t, viewer, "Sweep now")

	dismisser := view(role{name: "triage", grants: []adminhttp.Operation{adminhttp.OpRead, adminhttp.OpDismiss}})
	acts := formActions(dismisser)
	require.NotEmpty(t, acts)
	for _, a := range acts {
		assert.True(t, strings.HasSuffix(a, "/dismiss"), "only dismiss forms: %s", a)
	}

	admin := view(role{name: "admin", grants: adminhttp.Operations()})
	acts = formActions(admin)
	assert.True(t, slices.ContainsFunc(acts, func(a string) bool { return strings.HasSuffix(a, "/apply") }))
	assert.True(t, slices.ContainsFunc(acts, func(a string) bool { return strings.HasSuffix(a, "/dismiss") }))
	assert.Contains(t, acts, path("/ui/sweeps"))
}

// TestDeniedPages: a refused page is styled (its stylesheet needs no
// authorization), says nothing of the queue, and links back to the page
// only when the caller may read it, so the link never loops.
func TestDeniedPages(t *testing.T) {
	viewer := role{name: "viewer", grants: []adminhttp.Operation{adminhttp.OpRead}}
	e := newEnv(t, func(c *adminhttp.Config) { c.Authorize = viewer.authorize })
	w := e.do(req{method: "POST", path: path("/ui/plugin-updates/%d/apply", e.alpha.ID), noAuth: true})
	require.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), "you may not apply plugin updates")
	assert.Contains(t, w.Body.String(), `<a href="/admin/">Back to plugin updates</a>`, "the viewer may go back to the page")

	nobody := role{name: "nobody", grants: []adminhttp.Operation{}}
	e = newEnv(t, func(c *adminhttp.Config) { c.Authorize = nobody.authorize })
	w = e.do(req{method: "GET", path: path("/"), noAuth: true})
	require.Equal(t, http.StatusForbidden, w.Code)
	body := w.Body.String()
	assert.NotContains(t, body, `href="/admin/"`, "no link back to the page that was just refused")
	assert.NotContains(t, body, "alpha", "nothing of the queue")
	href := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`).FindStringSubmatch(body)
	require.Len(t, href, 2, "the error page is styled")
	css := e.do(req{method: "GET", path: strings.ReplaceAll(href[1], "&amp;", "&"), noAuth: true})
	assert.Equal(t, http.StatusOK, css.Code, "its stylesheet needs no authorization")
}

// TestOnUnauthenticated: a signed-out browser is sent where the host
// says (its login); API clients still get 401.
func TestOnUnauthenticated(t *testing.T) {
	signedOut := role{name: "signed-out"}
	e := newEnv(t, func(c *adminhttp.Config) {
		c.Authorize = signedOut.authorize
		c.OnUnauthenticated = func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusFound)
		}
	})
	w := e.do(req{method: "GET", path: path("/"), noAuth: true})
	assert.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "/login?next=/admin/", w.Header().Get("Location"))
	w = e.do(req{method: "POST", path: path("/ui/plugin-updates/%d/apply", e.alpha.ID), noAuth: true})
	assert.Equal(t, http.StatusFound, w.Code)
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates"), noAuth: true}), http.StatusUnauthorized, "unauthorized")
	assert.Zero(t, e.installer.count())
}
