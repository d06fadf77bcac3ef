package adminhttp_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
)

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func driftUpdater(s storage.Store, e *env) *drift.Updater {
	up, err := drift.NewUpdater(s, e.installer, e.restarter, &drift.UpdaterConfig{Now: e.clock.Now})
	if err != nil {
		panic(err) // only nil arguments are refused, and these are not nil
	}
	return up
}

// routeCase is one route of the handler, with a request that would
// succeed (and change something, for the POST routes) if authorized, and
// the operation the route names ("" for the stylesheet, served to anyone).
type routeCase struct {
	method, path, body, contentType string
	page                            bool // answers in HTML
	op                              adminhttp.Operation
}

// allRoutes lists every route the handler serves, once.
func allRoutes(e *env) []routeCase {
	id := func(format string) string { return path(format, e.alpha.ID) }
	ids := func() string { return fmt.Sprintf(`{"ids":[%d,%d]}`, e.alpha.ID, e.beta.ID) }
	form := func() string { return fmt.Sprintf("id=%d&id=%d", e.alpha.ID, e.beta.ID) }
	return []routeCase{
		{method: "GET", path: path("/plugin-updates"), op: adminhttp.OpRead},
		{method: "GET", path: path("/plugin-updates-pending"), op: adminhttp.OpRead},
		{method: "GET", path: id("/plugin-updates/%d"), op: adminhttp.OpRead},
		{method: "POST", path: id("/plugin-updates/%d/apply"), op: adminhttp.OpApply},
		{method: "POST", path: id("/plugin-updates/%d/dismiss"), body: `{"reason":"x"}`, contentType: "application/json", op: adminhttp.OpDismiss},
		{method: "POST", path: id("/plugin-updates/%d/restore"), op: adminhttp.OpDismiss},
		{method: "POST", path: path("/bulk/apply"), body: ids(), op: adminhttp.OpApply},
		{method: "POST", path: path("/bulk/dismiss"), body: ids(), op: adminhttp.OpDismiss},
		{method: "POST", path: path("/bulk/restore"), body: ids(), op: adminhttp.OpDismiss},
		{method: "POST", path: path("/sweeps"), op: adminhttp.OpSweep},
		{method: "GET", path: path("/sweeps/latest"), op: adminhttp.OpRead},
		{method: "POST", path: path("/upstreams/check"), body: `{"source":"` + srcAlpha + `","ref":"tag:latest"}`, op: adminhttp.OpSweep},
		{method: "GET", path: path("/installs"), op: adminhttp.OpRead},
		{method: "POST", path: path("/installs/ws-a/beta/rollback"), body: `{"to_sha":"` + shaHex(9) + `","reason":"x"}`, op: adminhttp.OpRollback},
		{method: "GET", path: path("/holds"), op: adminhttp.OpRead},
		{method: "POST", path: path("/holds/%d/release", e.heldInstall()), op: adminhttp.OpHolds},
		{method: "GET", path: path("/installs/ws-b/gamma/explain"), op: adminhttp.OpRead},
		{method: "GET", path: path("/events/subscribers"), op: adminhttp.OpEvents},
		{method: "GET", path: path("/events/subscribers/hook/dead"), op: adminhttp.OpEvents},
		{method: "POST", path: path("/events/subscribers/hook/dead/%d/retry", e.deadEvent()), op: adminhttp.OpEvents},
		{method: "GET", path: path("/"), page: true, op: adminhttp.OpRead},
		{method: "GET", path: path("/static/admin.css"), page: true},
		{method: "POST", path: id("/ui/plugin-updates/%d/apply"), page: true, op: adminhttp.OpApply},
		{method: "POST", path: id("/ui/plugin-updates/%d/dismiss"), body: "reason=x", contentType: "application/x-www-form-urlencoded", page: true, op: adminhttp.OpDismiss},
		{method: "POST", path: id("/ui/plugin-updates/%d/restore"), page: true, op: adminhttp.OpDismiss},
		{method: "POST", path: path("/ui/bulk/apply"), body: form(), contentType: "application/x-www-form-urlencoded", page: true, op: adminhttp.OpApply},
		{method: "POST", path: path("/ui/bulk/dismiss"), body: form(), contentType: "application/x-www-form-urlencoded", page: true, op: adminhttp.OpDismiss},
		{method: "POST", path: path("/ui/sweeps"), page: true, op: adminhttp.OpSweep},
		{method: "POST", path: path("/ui/upstreams/check"), body: "source=" + url.QueryEscape(srcAlpha) + "&ref=tag%3Alatest", contentType: "application/x-www-form-urlencoded", page: true, op: adminhttp.OpSweep},
		{method: "GET", path: path("/?view=holds"), page: true, op: adminhttp.OpRead},
		{method: "GET", path: path("/?view=explain&workspace=ws-b&plugin=gamma"), page: true, op: adminhttp.OpRead},
		{method: "POST", path: path("/ui/holds/%d/release", e.heldInstall()), page: true, op: adminhttp.OpHolds},
		{method: "POST", path: path("/ui/installs/ws-a/beta/rollback"), body: "to_sha=" + shaHex(9) + "&reason=x", contentType: "application/x-www-form-urlencoded", page: true, op: adminhttp.OpRollback},
	}
}

// guardedRoutes is allRoutes without the stylesheet.
func guardedRoutes(e *env) []routeCase {
	var out []routeCase
	for _, rt := range allRoutes(e) {
		if rt.op != "" {
			out = append(out, rt)
		}
	}
	return out
}

// TestEveryRouteNeedsAuthorization runs every route but the stylesheet
// with an Authorize that refuses, in each of the three ways, and checks
// the status, that neither the installer nor the resolver was called, and
// that the store did not change.
func TestEveryRouteNeedsAuthorization(t *testing.T) {
	denials := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"unauthenticated", adminhttp.ErrUnauthenticated, http.StatusUnauthorized, "unauthorized"},
		{"wrapped unauthenticated", errors.Join(errors.New("token expired"), adminhttp.ErrUnauthenticated), http.StatusUnauthorized, "unauthorized"},
		{"forbidden", adminhttp.ErrForbidden, http.StatusForbidden, "forbidden"},
		{"other error", errors.New("ldap: server db-3.internal unreachable"), http.StatusForbidden, "forbidden"},
	}
	for _, d := range denials {
		t.Run(d.name, func(t *testing.T) {
			var calls []adminhttp.Operation
			e := newEnv(t, func(c *adminhttp.Config) {
				c.Authorize = func(_ *http.Request, op adminhttp.Operation) (string, error) {
					calls = append(calls, op)
					return "", d.err
				}
			})
			routes := append(guardedRoutes(e),
				routeCase{method: "GET", path: path("/no-such-route"), op: adminhttp.OpRead},
				routeCase{method: "DELETE", path: path("/plugin-updates"), op: adminhttp.OpRead},
				routeCase{method: "GET", path: path("/plugin-updates/%%2e%%2e"), op: adminhttp.OpRead},
			)
			before := e.all() // after the routes, which may set up a hold
			resolved := e.resolver.callCount()
			for _, rt := range routes {
				calls = nil
				w := e.do(req{method: rt.method, path: rt.path, body: rt.body, contentType: rt.contentType})
				require.Equal(t, d.status, w.Code, "%s %s: %s", rt.method, rt.path, w.Body.String())
				assert.NotContains(t, w.Body.String(), "db-3", "%s %s", rt.method, rt.path)
				if d.status == http.StatusUnauthorized {
					assert.Equal(t, `Bearer realm="plugindrift"`, w.Header().Get("WWW-Authenticate"), "%s %s", rt.method, rt.path)
				} else {
					assert.Empty(t, w.Header().Get("WWW-Authenticate"))
				}
				if rt.page {
					assert.Contains(t, w.Header().Get("Content-Type"), "text/html", "%s %s", rt.method, rt.path)
				} else {
					assert.Equal(t, d.code, decode[apiErr](t, w).Error.Code, "%s %s", rt.method, rt.path)
				}
				require.NotEmpty(t, calls, "%s %s: Authorize ran", rt.method, rt.path)
				assert.Equal(t, rt.op, calls[0], "%s %s: Authorize was asked for the route's operation", rt.method, rt.path)
			}
			assert.Zero(t, e.installer.count(), "the installer was never called")
			assert.Empty(t, e.restarter.restarts)
			assert.Equal(t, resolved, e.resolver.callCount(), "no sweep ran")
			assert.Equal(t, before, e.all(), "nothing changed")
		})
	}
}

func TestAuthChallengeConfigurable(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.AuthChallenge = `Basic realm="ops", charset="UTF-8"` })
	w := e.do(req{method: "GET", path: path("/"), noAuth: true})
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Equal(t, `Basic realm="ops", charset="UTF-8"`, w.Header().Get("WWW-Authenticate"))
}

// TestBearerAuthorize runs the test's own Authorize through the handler: a
// missing token is 401, a viewer's apply 403, a valid one names the actor.
func TestBearerAuthorize(t *testing.T) {
	e := newEnv(t)
	p := path("/plugin-updates/%d/apply", e.alpha.ID)
	requireError(t, e.do(req{method: "POST", path: p, noAuth: true}), 401, "unauthorized")
	requireError(t, e.do(req{method: "POST", path: p, header: map[string]string{"Authorization": "Bearer nope"}}), 401, "unauthorized")
	requireError(t, e.do(req{method: "POST", path: p, header: map[string]string{"Authorization": "Bearer viewer-token"}}), 403, "forbidden")
	assert.Zero(t, e.installer.count())
	w := e.do(req{method: "POST", path: p, header: map[string]string{"Authorization": "Bearer bob-token"}})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "bob", e.get(e.alpha.ID).DecidedBy)
}

// TestCrossOriginPostsRefused: browser requests from another origin may
// not POST, to the API or to the page's forms; API clients that send no
// browser headers, and same-origin browser requests, may.
func TestCrossOriginPostsRefused(t *testing.T) {
	e := newEnv(t)
	hostile := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "https://evil.example"},
		{"Origin": "null"},
		{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.com"},
	}
	routes := guardedRoutes(e)
	before := e.all() // after the routes, which may set up a hold
	for _, rt := range routes {
		if rt.method != "POST" {
			continue
		}
		for _, hdr := range hostile {
			w := e.do(req{method: rt.method, path: rt.path, body: rt.body, contentType: rt.contentType, header: hdr})
			require.Equal(t, http.StatusForbidden, w.Code, "%s %v: %s", rt.path, hdr, w.Body.String())
			if !rt.page {
				assert.Equal(t, "forbidden", decode[apiErr](t, w).Error.Code)
			}
		}
	}
	assert.Zero(t, e.installer.count())
	assert.Equal(t, 3, e.resolver.callCount())
	assert.Equal(t, before, e.all(), "nothing changed")

	// httptest requests have Host example.com: a matching Origin is
	// same-origin, as is Sec-Fetch-Site: same-origin.
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID), header: map[string]string{"Sec-Fetch-Site": "same-origin"}})
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.beta.ID), header: map[string]string{"Origin": "http://example.com"}})
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.gamma.ID)})
	assert.Equal(t, http.StatusOK, w.Code, "a client without browser headers: %s", w.Body.String())
}

func TestTrustedOrigins(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.TrustedOrigins = []string{"https://ops.example.com"} })
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.alpha.ID),
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://ops.example.com"}})
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.beta.ID),
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://other.example.com"}})
	assert.Equal(t, http.StatusForbidden, w.Code)
}
