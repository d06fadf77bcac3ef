package adminhttp_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

type holdsBody struct {
	Holds []map[string]any `json:"holds"`
}

type rollbackBody struct {
	Update map[string]any `json:"update"`
	Hold   map[string]any `json:"hold"`
}

// TestRollbackAndHoldsAPI: roll an install back over the API, see its
// hold listed, release it, and the next sweep queues the commit again.
func TestRollbackAndHoldsAPI(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.beta.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())

	w = e.do(req{method: "POST", path: path("/installs/ws-a/beta/rollback"), body: `{"to_sha":"` + shaHex(3) + `","reason":"breaks login"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	rb := decode[rollbackBody](t, w)
	assert.Equal(t, "rollback", rb.Update["kind"])
	assert.Equal(t, "applied", rb.Update["status"])
	assert.Equal(t, shaHex(3), rb.Update["to_sha"])
	assert.Equal(t, shaHex(4), rb.Hold["sha"])
	assert.Equal(t, true, rb.Hold["active"])
	assert.Equal(t, "breaks login", rb.Hold["reason"])
	assert.Nil(t, rb.Hold["released_at"])

	w = e.do(req{method: "GET", path: path("/holds?workspace_id=ws-a&active=true")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	holds := decode[holdsBody](t, w).Holds
	require.Len(t, holds, 1)
	id := int64(holds[0]["id"].(float64))

	rep, err := e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Zero(t, rep.Queued, "held")

	w = e.do(req{method: "POST", path: path("/holds/%d/release", id)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, false, decode[rollbackBody](t, w).Hold["active"])
	rep, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Queued, "released: queued again")
}

func TestRollbackAPIRefusals(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/installs/ws-a/beta/rollback", `{"to_sha":"HEAD"}`, http.StatusBadRequest, "bad_request"},
		{"/installs/ws-a/beta/rollback", `{"sha":"` + shaHex(1) + `"}`, http.StatusBadRequest, "bad_request"},
		{"/installs/ws-a/Bad%20Name/rollback", `{"to_sha":"` + shaHex(1) + `"}`, http.StatusBadRequest, "bad_request"},
		{"/installs/ws-a/nope/rollback", `{"to_sha":"` + shaHex(1) + `"}`, http.StatusNotFound, "not_found"},
		{"/installs/ws-a/beta/rollback", `{"to_sha":"` + shaHex(3) + `"}`, http.StatusConflict, "conflict"},
		{"/holds/99/release", ``, http.StatusNotFound, "not_found"},
	} {
		w := e.do(req{method: "POST", path: "/admin" + c.path, body: c.body})
		assert.Equal(t, c.status, w.Code, "%s %s: %s", c.path, c.body, w.Body.String())
		assert.Contains(t, w.Body.String(), `"code":"`+c.code+`"`, c.path)
	}
	w := e.do(req{method: "GET", path: path("/holds?active=maybe")})
	assert.Equal(t, http.StatusBadRequest, w.Code)
	w = e.do(req{method: "GET", path: path("/holds")})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, decode[holdsBody](t, w).Holds, "refused rollbacks hold nothing")
}

func TestExplainAPI(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "GET", path: path("/installs/ws-b/gamma/explain")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	x := decode[struct {
		Install    map[string]any   `json:"install"`
		Upstream   map[string]any   `json:"upstream"`
		OpenUpdate map[string]any   `json:"open_update"`
		Holds      []map[string]any `json:"holds"`
		Reasons    []map[string]any `json:"reasons"`
	}](t, w)
	assert.Equal(t, "gamma", x.Install["plugin_name"])
	assert.Equal(t, shaHex(6), x.Upstream["last_sha"])
	assert.Equal(t, "tag-moved", x.OpenUpdate["kind"])
	assert.Empty(t, x.Holds)
	require.Len(t, x.Reasons, 2)
	assert.Equal(t, "integrity-alarm", x.Reasons[0]["code"])
	assert.Contains(t, x.Reasons[0]["change"], "POST /admin/plugin-updates/", "the route carries the mount prefix")
	assert.NotContains(t, x.Reasons[0]["change"], "{prefix}")
	assert.Equal(t, "signature-not-checked", x.Reasons[1]["code"])

	w = e.do(req{method: "GET", path: path("/installs/ws-b/nope/explain")})
	assert.Equal(t, http.StatusNotFound, w.Code)
	w = e.do(req{method: "GET", path: path("/installs/ws-b/gamma/explain?x=1")})
	assert.Equal(t, http.StatusBadRequest, w.Code)
	w = e.do(req{method: "GET", path: path("/installs/ws-b/gamma/explain"), noAuth: true})
	assert.Equal(t, http.StatusUnauthorized, w.Code)
}

// TestHistoryRewrittenIsAnAlarm: a history-rewritten entry is shown and
// applied as an integrity alarm, like tag-moved: pinned with its badge on
// the page, and applied only with the confirmation.
func TestHistoryRewrittenIsAnAlarm(t *testing.T) {
	e := newEnv(t)
	key := tracking.UpstreamKey{Source: e.beta.Source, Ref: e.beta.Ref}
	_, err := e.store.Reconcile(t.Context(), storage.ReconcileParams{Key: key, SHA: shaHex(10), Now: e.clock.Now(), Rewritten: []string{shaHex(3)}})
	require.NoError(t, err)
	var rewritten tracking.Update
	for _, u := range e.all() {
		if u.Kind == tracking.KindHistoryRewritten {
			rewritten = u
		}
	}
	require.NotZero(t, rewritten.ID)

	w := e.do(req{method: "GET", path: path("/")})
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "⚠ History rewritten")
	assert.Contains(t, w.Body.String(), "The branch was force-pushed")

	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", rewritten.ID)}), http.StatusConflict, "confirmation_required")
	assert.Zero(t, e.installer.count(), "nothing installed unconfirmed")
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", rewritten.ID), body: `{"confirm_tag_moved": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, tracking.StatusApplied, e.get(rewritten.ID).Status)
}
