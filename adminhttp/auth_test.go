package adminhttp_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
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
// succeed (and change something, for the POST routes) if authorized.
type routeCase struct {
	method, path, body, contentType string
	page                            bool // answers in HTML
}

// allRoutes lists every route the handler serves, once.
func allRoutes(e *env) []routeCase {
	id := func(format string) string { return path(format, e.alpha.ID) }
	return []routeCase{
		{method: "GET", path: path("/plugin-updates")},
		{method: "GET", path: path("/plugin-updates-pending")},
		{method: "GET", path: id("/plugin-updates/%d")},
		{method: "POST", path: id("/plugin-updates/%d/apply")},
		{method: "POST", path: id("/plugin-updates/%d/dismiss"), body: `{"reason":"x"}`, contentType: "application/json"},
		{method: "POST", path: path("/sweeps")},
		{method: "GET", path: path("/sweeps/latest")},
		{method: "GET", path: path("/installs")},
		{method: "GET", path: path("/"), page: true},
		{method: "GET", path: path("/static/admin.css"), page: true},
		{method: "POST", path: id("/ui/plugin-updates/%d/apply"), page: true},
		{method: "POST", path: id("/ui/plugin-updates/%d/dismiss"), body: "reason=x", contentType: "application/x-www-form-urlencoded", page: true},
		{method: "POST", path: path("/ui/sweeps"), page: true},
	}
}

// TestEveryRouteNeedsAuthorization runs every route with an Authorize that
// refuses, in each of the three ways, and checks the status, that neither
// the installer nor the resolver was called, and that the store did not
// change.
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
			calls := 0
			e := newEnv(t, func(c *adminhttp.Config) {
				c.Authorize = func(*http.Request) (string, error) {
					calls++
					return "", d.err
				}
			})
			before := e.all()
			resolved := e.resolver.callCount()
			routes := append(allRoutes(e),
				routeCase{method: "GET", path: path("/no-such-route")},
				routeCase{method: "DELETE", path: path("/plugin-updates")},
				routeCase{method: "GET", path: path("/plugin-updates/%%2e%%2e")},
			)
			for _, rt := range routes {
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
			}
			assert.Equal(t, len(routes), calls, "Authorize ran once per request")
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
// missing token is 401, a viewer's 403, a valid one names the actor.
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
	for _, rt := range allRoutes(e) {
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
	for _, u := range e.all() {
		assert.Equal(t, "pending", string(u.Status))
	}

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
