package adminhttp_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

type updatesPage struct {
	Updates    []map[string]any `json:"updates"`
	NextCursor string           `json:"next_cursor"`
}

type updateBody struct {
	Update map[string]any `json:"update"`
}

func ids(p updatesPage) []int64 {
	var out []int64
	for _, u := range p.Updates {
		out = append(out, int64(u["id"].(float64)))
	}
	return out
}

func TestUpdateJSONShape(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: path("/plugin-updates/%d", e.alpha.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[updateBody](t, w).Update

	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	assert.Equal(t, []string{"attempts", "bump", "decided_at", "decided_by", "detected_at", "from_sha", "from_version",
		"id", "kind", "last_error", "last_seen_at", "override", "plugin_name", "reason", "ref", "restart_error",
		"source", "status", "to_sha", "to_version", "verification", "workspace_id"}, keys, "every key is always present")

	assert.Equal(t, float64(e.alpha.ID), got["id"])
	assert.Equal(t, "ws-a", got["workspace_id"])
	assert.Equal(t, "alpha", got["plugin_name"])
	assert.Equal(t, srcAlpha, got["source"])
	assert.Equal(t, "tag:latest", got["ref"])
	assert.Equal(t, shaHex(1), got["from_sha"])
	assert.Equal(t, shaHex(2), got["to_sha"])
	assert.Equal(t, "v1.0.0", got["from_version"])
	assert.Equal(t, "v1.1.0", got["to_version"])
	assert.Equal(t, "new-version", got["kind"])
	assert.Equal(t, "pending", got["status"])
	assert.Equal(t, "2031-03-04T09:00:00Z", got["detected_at"], "RFC 3339, UTC")
	assert.Equal(t, "2031-03-04T09:00:00Z", got["last_seen_at"])
	assert.Nil(t, got["decided_at"], "a time that is not set is null")
	assert.Equal(t, "", got["decided_by"])
	assert.Equal(t, float64(0), got["attempts"])
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
}

func TestListUpdatesFilters(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "not now")
	require.NoError(t, err)

	list := func(query string) updatesPage {
		t.Helper()
		w := e.do(req{method: "GET", path: path("/plugin-updates%s", query)})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[updatesPage](t, w)
	}
	// Entry IDs follow the order the store queued them in, which the
	// tests do not fix: expectations are sorted.
	asc := func(ids ...int64) []int64 { slices.Sort(ids); return ids }
	all := asc(e.alpha.ID, e.beta.ID, e.gamma.ID)
	assert.Equal(t, all, ids(list("")), "no status: every status")
	assert.Equal(t, asc(e.alpha.ID, e.gamma.ID), ids(list("?status=pending")))
	assert.Equal(t, []int64{e.beta.ID}, ids(list("?status=dismissed")))
	assert.Equal(t, all, ids(list("?status=pending&status=dismissed")), "status may repeat")
	assert.Equal(t, all, ids(list("?status=pending,dismissed")), "or be comma-separated")
	assert.Equal(t, asc(e.alpha.ID, e.beta.ID), ids(list("?workspace_id=ws-a")))
	assert.Equal(t, []int64{e.alpha.ID}, ids(list("?workspace_id=ws-a&status=pending")))
	assert.Equal(t, []int64{e.gamma.ID}, ids(list("?plugin_name=gamma")))
	assert.Empty(t, ids(list("?workspace_id=nobody")))
	newest := slices.Clone(all)
	slices.Reverse(newest)
	assert.Equal(t, newest, ids(list("?order=newest")))

	empty := list("?workspace_id=nobody")
	assert.NotNil(t, empty.Updates, "an empty list is [], not null")
	assert.Equal(t, "", empty.NextCursor)
}

func TestListUpdatesPagination(t *testing.T) {
	e := newEnv(t)
	for _, order := range []string{"oldest", "newest"} {
		t.Run(order, func(t *testing.T) {
			var seen []int64
			cursor := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 5, "pagination does not end")
				w := e.do(req{method: "GET", path: path("/plugin-updates?limit=2&order=%s&cursor=%s", order, cursor)})
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				p := decode[updatesPage](t, w)
				require.LessOrEqual(t, len(p.Updates), 2)
				seen = append(seen, ids(p)...)
				if p.NextCursor == "" {
					break
				}
				cursor = p.NextCursor
			}
			want := []int64{e.alpha.ID, e.beta.ID, e.gamma.ID}
			slices.Sort(want) // IDs follow the order the store queued them in
			if order == "newest" {
				slices.Reverse(want)
			}
			assert.Equal(t, want, seen, "every entry once, in order")
		})
	}

	// Exactly limit entries left: no next page is promised.
	w := e.do(req{method: "GET", path: path("/plugin-updates?limit=3")})
	assert.Equal(t, "", decode[updatesPage](t, w).NextCursor)

	// A cursor of one order is refused in the other.
	w = e.do(req{method: "GET", path: path("/plugin-updates?limit=1")})
	next := decode[updatesPage](t, w).NextCursor
	require.NotEmpty(t, next)
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates?limit=1&order=newest&cursor=%s", next)}), 400, "bad_request")
}

func TestListUpdatesLimitDefaultAndMax(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tr := mustTracker(e.t, e.store, e.clock.Now)
	for i := range 250 {
		_, err := tr.RecordInstall(ctx, tracking.InstallRecord{
			WorkspaceID: fmt.Sprintf("bulk-%03d", i), PluginName: "alpha", Source: srcAlpha, Ref: "tag:latest", SHA: shaHex(1),
		})
		require.NoError(t, err)
	}
	_, err := e.sweeper.RunOnce(ctx)
	require.NoError(t, err)

	w := e.do(req{method: "GET", path: path("/plugin-updates?status=pending")})
	p := decode[updatesPage](t, w)
	assert.Len(t, p.Updates, 50, "limit defaults to 50")
	assert.NotEmpty(t, p.NextCursor)
	w = e.do(req{method: "GET", path: path("/plugin-updates?status=pending&limit=200")})
	assert.Len(t, decode[updatesPage](t, w).Updates, 200, "200 is the maximum")
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates?limit=201")}), 400, "bad_request")
}

func TestListUpdatesRefusesBadQueries(t *testing.T) {
	e := newEnv(t)
	wrongOrder := base64.RawURLEncoding.EncodeToString([]byte("d1"))
	for name, query := range map[string]string{
		"unknown status":     "status=bogus",
		"status injection":   "status=pending'--",
		"empty status item":  "status=pending,",
		"limit zero":         "limit=0",
		"limit negative":     "limit=-1",
		"limit too big":      "limit=201",
		"limit leading zero": "limit=01",
		"limit plus":         "limit=+5",
		"limit text":         "limit=abc",
		"limit twice":        "limit=1&limit=2",
		"cursor garbage":     "cursor=%%%",
		"cursor not base64":  "cursor=!!!!",
		"cursor zero id":     "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("a0")),
		"cursor negative":    "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("a-5")),
		"cursor leading 0":   "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("a05")),
		"cursor no order":    "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("x5")),
		"cursor padded":      "cursor=" + base64.URLEncoding.EncodeToString([]byte("a5")),
		"cursor other order": "cursor=" + wrongOrder,
		"cursor too long":    "cursor=" + strings.Repeat("A", 600),
		"workspace invalid":  "workspace_id=../etc",
		"workspace too long": "workspace_id=" + strings.Repeat("w", 129),
		"plugin invalid":     "plugin_name=Alpha",
		"order unknown":      "order=sideways",
		"unknown parameter":  "workspace=ws-a",
		"workspace twice":    "workspace_id=ws-a&workspace_id=ws-b",
		"bad escape":         "workspace_id=%zz",
	} {
		t.Run(name, func(t *testing.T) {
			requireError(t, e.do(req{method: "GET", path: path("/plugin-updates?%s", query)}), 400, "bad_request")
		})
	}
}

func TestListPendingCompatibilityRoute(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "")
	require.NoError(t, err)
	w := e.do(req{method: "GET", path: path("/plugin-updates-pending")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	want := []int64{e.alpha.ID, e.gamma.ID}
	slices.Sort(want)
	assert.Equal(t, want, ids(decode[updatesPage](t, w)))

	w = e.do(req{method: "GET", path: path("/plugin-updates-pending?workspace_id=ws-b&limit=1")})
	assert.Equal(t, []int64{e.gamma.ID}, ids(decode[updatesPage](t, w)))
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates-pending?status=applied")}), 400, "bad_request")
}

func TestGetUpdateIDs(t *testing.T) {
	e := newEnv(t)
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates/999")}), 404, "not_found")
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates/9223372036854775807")}), 404, "not_found")

	for _, id := range []string{
		"0", "01", "007", "-1", "+1", "1.0", "1e3", "0x10", "abc", "%201", "1%20", "%00",
		"9223372036854775808",  // 19 digits, one past int64
		"99999999999999999999", // 20 digits
		"１",                    // a full-width digit
		"%2e%2e", "%2E%2E", "..", ".", "%2e",
	} {
		t.Run(id, func(t *testing.T) {
			for _, p := range []string{"/plugin-updates/%s", "/plugin-updates/%s/apply", "/plugin-updates/%s/dismiss"} {
				method := "POST"
				if !strings.Contains(p, "apply") && !strings.Contains(p, "dismiss") {
					method = "GET"
				}
				requireError(t, e.do(req{method: method, path: path(p, id)}), 400, "bad_request")
			}
		})
	}
	t.Run("dot-dot segments", func(t *testing.T) {
		for _, p := range []string{
			"/plugin-updates/../plugin-updates/1",
			"/plugin-updates/1/../2/apply",
			"/plugin-updates/%2e%2e/%2e%2e/sweeps",
			"/plugin-updates//apply",
			"/./plugin-updates",
		} {
			requireError(t, e.do(req{method: "POST", path: path("%s", p)}), 400, "bad_request")
		}
	})
	assert.Zero(t, e.installer.count(), "no id reached the installer")
	for _, u := range e.all() {
		assert.Equal(t, tracking.StatusPending, u.Status)
	}
}

func TestApply(t *testing.T) {
	e := newEnv(t)
	e.clock.Advance(time.Hour)
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[updateBody](t, w).Update
	assert.Equal(t, "applied", got["status"])
	assert.Equal(t, "alice", got["decided_by"], "the actor from Authorize is recorded")
	assert.Equal(t, "2031-03-04T10:00:00Z", got["decided_at"])
	require.Equal(t, 1, e.installer.count())
	assert.Equal(t, shaHex(2), e.installer.request(0).SHA, "the reviewed commit is installed")
	assert.Equal(t, []string{"ws-a"}, e.restarter.restarts)
	assert.Equal(t, "alice", e.get(e.alpha.ID).DecidedBy)

	// Applying again: 200, unchanged, no second install.
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID), body: "{}"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, got, decode[updateBody](t, w).Update)
	assert.Equal(t, 1, e.installer.count())

	// A dismissed entry cannot be applied; the body shows its state.
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "")
	require.NoError(t, err)
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.beta.ID)}), 409, "conflict")
	assert.Equal(t, "dismissed", er.Update["status"])
	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/424242/apply")}), 404, "not_found")
	assert.Equal(t, 1, e.installer.count())
}

func TestApplyInstallFailed(t *testing.T) {
	e := newEnv(t)
	e.installer.failWith = errors.New("pip: connection to internal-mirror.corp:3128 refused")
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 502, "install_failed")
	assert.NotContains(t, er.Error.Message, "internal-mirror", "the installer's error is not the message")
	assert.Equal(t, "pending", er.Update["status"], "the entry is pending again")
	assert.Equal(t, float64(1), er.Update["attempts"])
	assert.Equal(t, "pip: connection to internal-mirror.corp:3128 refused", er.Update["last_error"], "recorded queue data is shown")
	assert.Contains(t, e.logs.String(), "internal-mirror.corp", "the full error is logged")
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)
}

func TestApplyRestartFailed(t *testing.T) {
	e := newEnv(t)
	e.restarter.failWith = errors.New("systemctl: unit ws-a.service: permission denied")
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 502, "restart_failed")
	assert.NotContains(t, er.Error.Message, "systemctl")
	require.NotNil(t, er.Update, "restart_failed includes the applied entry")
	assert.Equal(t, "applied", er.Update["status"])
	assert.Equal(t, "alice", er.Update["decided_by"])
	assert.Equal(t, "systemctl: unit ws-a.service: permission denied", er.Update["restart_error"])

	// Applying again retries only the restart.
	e.restarter.failWith = nil
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "", decode[updateBody](t, w).Update["restart_error"])
	assert.Equal(t, 1, e.installer.count())
	assert.Len(t, e.restarter.restarts, 2)
}

func TestApplyBusy(t *testing.T) {
	e := newEnv(t)
	e.installer.block = make(chan struct{})
	e.installer.started = make(chan struct{}, 1)
	done := make(chan int, 1)
	go func() {
		done <- e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}).Code
	}()
	select {
	case <-e.installer.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first apply never reached the installer")
	}
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 409, "busy")
	assert.Equal(t, "applying", er.Update["status"])
	close(e.installer.block)
	assert.Equal(t, http.StatusOK, <-done)
	assert.Equal(t, 1, e.installer.count())
}

func TestDismiss(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.alpha.ID), body: `{"reason":"waiting for the security review"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[updateBody](t, w).Update
	assert.Equal(t, "dismissed", got["status"])
	assert.Equal(t, "alice", got["decided_by"])
	assert.Equal(t, "waiting for the security review", got["reason"])

	// Idempotent: dismissed again, unchanged (the first reason stays).
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.alpha.ID), body: `{"reason":"other"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "waiting for the security review", decode[updateBody](t, w).Update["reason"])

	// The body is optional; so is the reason.
	for i, body := range []string{"", "{}", `{"reason":""}`} {
		e := newEnv(t)
		w := e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.beta.ID), body: body,
			header: map[string]string{"Authorization": "Bearer bob-token"}})
		require.Equal(t, http.StatusOK, w.Code, "body %d: %s", i, w.Body.String())
		u := e.get(e.beta.ID)
		assert.Equal(t, tracking.StatusDismissed, u.Status)
		assert.Equal(t, "bob", u.DecidedBy)
		assert.Equal(t, "", u.Reason)
	}

	// Multi-line reasons and charset parameters are fine.
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.beta.ID), body: `{"reason":"line 1\nline 2\tend"}`,
		contentType: "application/json; charset=UTF-8"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "line 1\nline 2\tend", e.get(e.beta.ID).Reason)

	_, err := e.updater.Apply(t.Context(), e.gamma.ID, "carol")
	require.NoError(t, err)
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.gamma.ID)}), 409, "conflict")
	assert.Equal(t, "applied", er.Update["status"])
	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/31337/dismiss")}), 404, "not_found")
}

// TestHostileBodies sends bodies that must all be refused, and checks that
// nothing changed.
func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	big := `{"reason":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name, route, body, contentType string
		status                         int
		code                           string
	}{
		{"malformed", "dismiss", `{"reason":`, "", 400, "bad_request"},
		{"not json", "dismiss", `reason=x`, "", 400, "bad_request"},
		{"array", "dismiss", `["x"]`, "", 400, "bad_request"},
		{"string", "dismiss", `"x"`, "", 400, "bad_request"},
		{"null", "dismiss", `null`, "", 400, "bad_request"},
		{"unknown field", "dismiss", `{"reason":"x","force":true}`, "", 400, "bad_request"},
		{"wrong type", "dismiss", `{"reason":42}`, "", 400, "bad_request"},
		{"trailing object", "dismiss", `{"reason":"x"}{"reason":"y"}`, "", 400, "bad_request"},
		{"trailing garbage", "dismiss", `{"reason":"x"} junk`, "", 400, "bad_request"},
		{"invalid utf-8", "dismiss", "{\"reason\":\"\xff\xfe\"}", "", 400, "bad_request"},
		{"nul in reason", "dismiss", `{"reason":"a\u0000b"}`, "", 400, "bad_request"},
		{"escape in reason", "dismiss", `{"reason":"\u001b[31mred"}`, "", 400, "bad_request"},
		{"reason too long", "dismiss", `{"reason":"` + strings.Repeat("r", 1001) + `"}`, "", 400, "bad_request"},
		{"1 MiB", "dismiss", big, "", 413, "payload_too_large"},
		{"1 MiB apply", "apply", big, "", 413, "payload_too_large"},
		{"text/plain", "dismiss", `{"reason":"x"}`, "text/plain", 415, "unsupported_media_type"},
		{"form", "dismiss", `reason=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"latin1", "dismiss", `{"reason":"x"}`, "application/json; charset=latin1", 415, "unsupported_media_type"},
		{"bad media type", "dismiss", `{"reason":"x"}`, "application/json; ;", 415, "unsupported_media_type"},
		{"field in other case", "dismiss", `{"Reason":"x"}`, "", 400, "bad_request"},
		{"duplicate field", "dismiss", `{"reason":"x","reason":"<script>"}`, "", 400, "bad_request"},
		{"reason object", "dismiss", `{"reason":{"a":1}}`, "", 400, "bad_request"},
		{"deep nesting", "dismiss", `{"reason":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "", 400, "bad_request"},
		{"apply unknown field", "apply", `{"force":true}`, "", 400, "bad_request"},
		{"apply text", "apply", `go`, "text/plain", 415, "unsupported_media_type"},
		{"sweep unknown field", "sweeps", `{"all":true}`, "", 400, "bad_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := path("/plugin-updates/%d/%s", e.alpha.ID, c.route)
			if c.route == "sweeps" {
				p = path("/sweeps")
			}
			er := requireError(t, e.do(req{method: "POST", path: p, body: c.body, contentType: c.contentType}), c.status, c.code)
			if c.name == "nul in reason" || c.name == "escape in reason" || c.name == "reason too long" {
				assert.Contains(t, er.Error.Message, "the reason must be at most 1000 bytes", "the message says why")
			}
		})
	}
	assert.Zero(t, e.installer.count())
	assert.Equal(t, 3, e.resolver.callCount(), "no sweep ran beyond the setup")
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)
}

func TestMaxBodyBytesConfigurable(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.MaxBodyBytes = 16 })
	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.alpha.ID), body: `{"reason":"seventeen bytes!"}`}), 413, "payload_too_large")
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/dismiss", e.alpha.ID), body: `{"reason":"ok"}`})
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

func TestSweeps(t *testing.T) {
	e := newEnv(t)
	e.resolver.set(srcAlpha, "tag:latest", shaHex(7), "v1.2.0")
	e.resolver.fail(srcBeta, "branch:main", errors.New("git ls-remote: fatal: could not read Username"))
	e.clock.Advance(time.Hour)
	w := e.do(req{method: "POST", path: path("/sweeps")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	body := decode[struct {
		Report map[string]any `json:"report"`
	}](t, w)
	assert.Equal(t, float64(3), body.Report["upstreams"])
	assert.Equal(t, float64(1), body.Report["queued"])
	assert.Equal(t, float64(1), body.Report["superseded"])
	assert.Equal(t, float64(1), body.Report["failed"])
	require.Len(t, body.Report["errors"], 1)
	assert.Equal(t, srcBeta, body.Report["errors"].([]any)[0].(map[string]any)["source"])

	p := decode[updatesPage](t, e.do(req{method: "GET", path: path("/plugin-updates?status=pending&plugin_name=alpha")}))
	require.Len(t, p.Updates, 1)
	assert.Equal(t, shaHex(7), p.Updates[0]["to_sha"])

	w = e.do(req{method: "POST", path: path("/sweeps"), body: "{}"})
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

func TestSweepsWithoutSweeper(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.Sweeper = nil })
	calls := e.resolver.callCount()
	requireError(t, e.do(req{method: "POST", path: path("/sweeps")}), 501, "not_implemented")
	assert.Equal(t, calls, e.resolver.callCount())
	w := e.do(req{method: "GET", path: path("/")})
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), "Sweep now")
}

type installsPage struct {
	Installs   []map[string]any `json:"installs"`
	NextCursor string           `json:"next_cursor"`
}

func TestInstalls(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: path("/installs")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	p := decode[installsPage](t, w)
	require.Len(t, p.Installs, 3)
	assert.Equal(t, "", p.NextCursor)
	first := p.Installs[0]
	assert.Equal(t, map[string]any{
		"workspace_id": "ws-a", "plugin_name": "alpha", "source": srcAlpha, "ref": "tag:latest", "tracked": true,
		"installed_sha": shaHex(1), "installed_version": "v1.0.0",
		"installed_at": "2031-03-04T09:00:00Z", "updated_at": "2031-03-04T09:00:00Z",
	}, first)

	w = e.do(req{method: "GET", path: path("/installs?workspace_id=ws-b")})
	p = decode[installsPage](t, w)
	require.Len(t, p.Installs, 1)
	assert.Equal(t, "gamma", p.Installs[0]["plugin_name"])

	var names []string
	cursor := ""
	for range 4 {
		w := e.do(req{method: "GET", path: path("/installs?limit=1&cursor=%s", cursor)})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		p := decode[installsPage](t, w)
		for _, in := range p.Installs {
			names = append(names, in["workspace_id"].(string)+"/"+in["plugin_name"].(string))
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{"ws-a/alpha", "ws-a/beta", "ws-b/gamma"}, names)

	for _, q := range []string{
		"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ws-a")),
		"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ws a\nalpha")),
		"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ws-a\n../x")),
		"cursor=*", "limit=0", "workspace_id=%3Cscript%3E", "status=pending",
	} {
		requireError(t, e.do(req{method: "GET", path: path("/installs?%s", q)}), 400, "bad_request")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	for _, rt := range allRoutes(e) {
		wrong := "POST"
		if rt.method == "POST" {
			wrong = "GET"
		}
		for _, m := range []string{wrong, "PUT", "DELETE", "PATCH", "OPTIONS"} {
			w := e.do(req{method: m, path: rt.path})
			require.Equal(t, http.StatusMethodNotAllowed, w.Code, "%s %s: %s", m, rt.path, w.Body.String())
			allow := "POST"
			if rt.method == "GET" {
				allow = "GET, HEAD"
			}
			assert.Equal(t, allow, w.Header().Get("Allow"), "%s %s", m, rt.path)
			if !rt.page {
				assert.Equal(t, "method_not_allowed", decode[apiErr](t, w).Error.Code)
			}
		}
	}
	assert.Zero(t, e.installer.count())
}

func TestHeadIsGet(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "HEAD", path: path("/plugin-updates")})
	assert.Equal(t, http.StatusOK, w.Code)
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	requireError(t, e.do(req{method: "GET", path: path("/nope")}), 404, "not_found")
	requireError(t, e.do(req{method: "GET", path: path("/plugin-updates/1/apply/more")}), 404, "not_found")
	requireError(t, e.do(req{method: "GET", path: "/elsewhere"}), 404, "not_found")
	w := e.do(req{method: "GET", path: path("/ui/nope")})
	assert.Equal(t, 404, w.Code)
	assert.Contains(t, w.Header().Get("Content-Type"), "text/html", "page paths answer in HTML")

	w = e.do(req{method: "GET", path: "/admin"})
	assert.Equal(t, http.StatusMovedPermanently, w.Code)
	assert.Equal(t, "/admin/", w.Header().Get("Location"))
}

// failingStore breaks every read with an error carrying secrets.
type failingStore struct {
	storage.Store
}

var errSecret = errors.New(`pq: password authentication failed for user "plugindrift" at db-7.internal:5432`)

func (failingStore) ListUpdates(context.Context, storage.ListUpdatesParams) ([]tracking.Update, error) {
	return nil, errSecret
}
func (failingStore) ListInstalls(context.Context, storage.ListInstallsParams) ([]tracking.Install, error) {
	return nil, errSecret
}
func (failingStore) GetUpdate(context.Context, int64) (tracking.Update, error) {
	return tracking.Update{}, errSecret
}
func (failingStore) ClaimUpdate(context.Context, storage.ClaimUpdateParams) (tracking.Update, error) {
	return tracking.Update{}, errSecret
}
func (failingStore) DismissUpdate(context.Context, storage.DismissUpdateParams) (tracking.Update, error) {
	return tracking.Update{}, errSecret
}

func TestInternalErrorsAreLoggedNotSent(t *testing.T) {
	e := newEnv(t)
	broken := failingStore{e.store}
	h, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: driftUpdater(broken, e), Store: broken, Authorize: bearerAuthorize,
		Logger: slogTo(e.logs),
	})
	require.NoError(t, err)
	e.handler = h
	for _, r := range []req{
		{method: "GET", path: path("/plugin-updates")},
		{method: "GET", path: path("/plugin-updates-pending")},
		{method: "GET", path: path("/plugin-updates/1")},
		{method: "GET", path: path("/installs")},
		{method: "POST", path: path("/plugin-updates/1/apply")},
		{method: "POST", path: path("/plugin-updates/1/dismiss")},
	} {
		w := e.do(r)
		er := requireError(t, w, 500, "internal")
		assert.NotContains(t, w.Body.String(), "password", r.path)
		assert.NotContains(t, w.Body.String(), "db-7", r.path)
		assert.Nil(t, er.Update)
	}
	w := e.do(req{method: "GET", path: path("/")})
	assert.Equal(t, 500, w.Code)
	assert.NotContains(t, w.Body.String(), "db-7")
	assert.Contains(t, e.logs.String(), "db-7.internal:5432", "the full error is in the log")
}

func TestNewHandlerConfig(t *testing.T) {
	e := newEnv(t)
	base := adminhttp.Config{Updater: e.updater, Store: e.store, Authorize: bearerAuthorize}

	_, err := adminhttp.NewHandler(adminhttp.Config{Updater: e.updater, Store: e.store})
	require.Error(t, err, "Authorize is required")
	assert.Contains(t, err.Error(), "Authorize")

	for name, mutate := range map[string]func(*adminhttp.Config){
		"no updater":         func(c *adminhttp.Config) { c.Updater = nil },
		"no store":           func(c *adminhttp.Config) { c.Store = nil },
		"relative prefix":    func(c *adminhttp.Config) { c.Prefix = "admin" },
		"dot-dot prefix":     func(c *adminhttp.Config) { c.Prefix = "/a/../b" },
		"double slash":       func(c *adminhttp.Config) { c.Prefix = "/a//b" },
		"only slashes":       func(c *adminhttp.Config) { c.Prefix = "//" },
		"trailing slashes":   func(c *adminhttp.Config) { c.Prefix = "/admin//" },
		"wildcard prefix":    func(c *adminhttp.Config) { c.Prefix = "/{x}" },
		"space prefix":       func(c *adminhttp.Config) { c.Prefix = "/a b" },
		"negative body cap":  func(c *adminhttp.Config) { c.MaxBodyBytes = -1 },
		"bad trusted origin": func(c *adminhttp.Config) { c.TrustedOrigins = []string{"ops.example.com"} },
	} {
		cfg := base
		mutate(&cfg)
		_, err := adminhttp.NewHandler(cfg)
		assert.Error(t, err, name)
	}
}

func TestAllowUnauthenticated(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, func(c *adminhttp.Config) {
		c.Authorize = nil
		c.AllowUnauthenticated = true
		c.Logger = slogTo(logs)
	})
	assert.Contains(t, logs.String(), "level=WARN", "construction warns")
	assert.Contains(t, logs.String(), "without authorization")
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID), noAuth: true})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, adminhttp.AnonymousActor, e.get(e.alpha.ID).DecidedBy)
}

func TestAuthorizeReturningUnusableActorIsDenied(t *testing.T) {
	for name, actor := range map[string]string{
		"empty":    "",
		"control":  "ali\x00ce",
		"too long": strings.Repeat("a", 201),
		"bad utf8": "\xff",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *adminhttp.Config) {
				c.Authorize = func(*http.Request, adminhttp.Operation) (string, error) { return actor, nil }
			})
			requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 403, "forbidden")
			assert.Zero(t, e.installer.count())
		})
	}
}

func TestCustomPrefixAndRouters(t *testing.T) {
	e := newEnv(t, func(c *adminhttp.Config) { c.Prefix = "/ops/plugindrift/" })
	mux := http.NewServeMux()
	mux.Handle("/ops/plugindrift/", e.handler)
	e.handler = mux
	w := e.do(req{method: "GET", path: "/ops/plugindrift/plugin-updates-pending"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Len(t, decode[updatesPage](t, w).Updates, 3)
	w = e.do(req{method: "GET", path: "/ops/plugindrift/"})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `action="/ops/plugindrift/ui/plugin-updates/`)
	assert.Contains(t, w.Body.String(), `href="/ops/plugindrift/static/admin.css?v=`)

	root := newEnv(t, func(c *adminhttp.Config) { c.Prefix = "/" })
	w = root.do(req{method: "GET", path: "/plugin-updates"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = root.do(req{method: "GET", path: "/"})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `action="/ui/plugin-updates/`)
}

func TestResponsesAreValidJSON(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: path("/plugin-updates?workspace_id=%%3Cscript%%3E")})
	require.Equal(t, 400, w.Code)
	assert.True(t, json.Valid(w.Body.Bytes()))
	assert.NotContains(t, w.Body.String(), "<script>", "JSON escapes HTML-significant characters")
}

// TestUpstreamTextIsShownRedacted: what the installer, the restarter and
// upstream wrote is shown to operators in last_error, restart_error and
// the errors of sweep reports, API and page alike, with credentials masked
// and local paths cut to their last element.
func TestUpstreamTextIsShownRedacted(t *testing.T) {
	const token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	e := newEnv(t)
	e.installer.failWith = errors.New("clone https://x-access-token:" + token + "@github.com/acme/alpha into /srv/plugins/ws-a/alpha: exit 128")
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 502, "install_failed")
	const lastError = "clone https://***@github.com/acme/alpha into …/alpha: exit 128"
	assert.Equal(t, lastError, er.Update["last_error"])
	assert.Equal(t, lastError, decode[updateBody](t, e.do(req{method: "GET", path: path("/plugin-updates/%d", e.alpha.ID)})).Update["last_error"])
	assert.Contains(t, rowOf(t, e.page(""), e.alpha.ID), lastError)

	e.installer.failWith = nil
	e.restarter.failWith = errors.New("systemctl: read /etc/plugindrift/ws-a.env: token=" + token)
	er = requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID)}), 502, "restart_failed")
	const restartError = "systemctl: read …/ws-a.env: token=***"
	assert.Equal(t, restartError, er.Update["restart_error"])
	assert.Contains(t, rowOf(t, e.page(""), e.alpha.ID), restartError)

	e.resolver.fail(srcBeta, "branch:main", errors.New("git ls-remote https://bot:"+token+"@git.example.com/acme/beta.git: fatal: unable to access /home/ci/.config/git/credentials"))
	w := e.do(req{method: "POST", path: path("/sweeps")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	const sweepError = "git ls-remote https://***@git.example.com/acme/beta.git: fatal: unable to access …/credentials"
	body := decode[struct {
		Report map[string]any `json:"report"`
	}](t, w)
	require.Len(t, body.Report["errors"], 1)
	assert.Equal(t, sweepError, body.Report["errors"].([]any)[0].(map[string]any)["error"])
	latest := decode[sweepBody](t, e.do(req{method: "GET", path: path("/sweeps/latest")})).Sweep
	assert.Equal(t, sweepError, latest.Report["errors"].([]any)[0].(map[string]any)["error"])
	html := e.page("")
	assert.Contains(t, section(html, "last-sweep"), sweepError)
	assert.NotContains(t, html, token)
	assert.NotContains(t, html, "/srv/plugins")
	assert.NotContains(t, w.Body.String(), token)
}
