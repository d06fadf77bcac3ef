package adminhttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

type bulkResponse struct {
	Results []struct {
		ID    int64 `json:"id"`
		OK    bool  `json:"ok"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Update map[string]any `json:"update"`
	} `json:"results"`
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
}

// TestApplyTagMovedNeedsConfirmation: the API, like the page, applies a
// moved tag only when the caller confirms it compared the commits.
func TestApplyTagMovedNeedsConfirmation(t *testing.T) {
	e := newEnv(t)
	p := path("/plugin-updates/%d/apply", e.gamma.ID)
	er := requireError(t, e.do(req{method: "POST", path: p}), http.StatusConflict, "confirmation_required")
	assert.Contains(t, er.Error.Message, "confirm_tag_moved")
	assert.Equal(t, "pending", er.Update["status"])
	requireError(t, e.do(req{method: "POST", path: p, body: `{"confirm_tag_moved": false}`}), http.StatusConflict, "confirmation_required")
	assert.Zero(t, e.installer.count(), "nothing was installed")
	assert.Equal(t, tracking.StatusPending, e.get(e.gamma.ID).Status)

	w := e.do(req{method: "POST", path: p, body: `{"confirm_tag_moved": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "applied", decode[updateBody](t, w).Update["status"])
	assert.Equal(t, 1, e.installer.count())

	// Other kinds need no confirmation, and take it without harm.
	w = e.do(req{method: "POST", path: path("/plugin-updates/%d/apply", e.alpha.ID), body: `{"confirm_tag_moved": true}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
}

// TestRestore: a dismissed entry whose change is current goes back to
// pending; once upstream moved on it cannot.
func TestRestore(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.alpha.ID, "carol", "later")
	require.NoError(t, err)
	w := e.do(req{method: "POST", path: path("/plugin-updates/%d/restore", e.alpha.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[updateBody](t, w).Update
	assert.Equal(t, "pending", got["status"])
	assert.Equal(t, "", got["decided_by"])
	assert.Nil(t, got["decided_at"])
	assert.Contains(t, e.logs.String(), "restored", "who restored it is logged")

	// Upstream moved on: the old dismissal stays.
	_, err = e.updater.Dismiss(t.Context(), e.alpha.ID, "carol", "")
	require.NoError(t, err)
	e.resolver.set(srcAlpha, "tag:latest", shaHex(9), "v1.2.0")
	_, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	er := requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/restore", e.alpha.ID)}), http.StatusConflict, "conflict")
	assert.Contains(t, er.Error.Message, "no longer current")
	assert.Equal(t, "dismissed", er.Update["status"])
	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/424242/restore")}), http.StatusNotFound, "not_found")
	requireError(t, e.do(req{method: "POST", path: path("/plugin-updates/%d/restore", e.beta.ID), body: `{"x":1}`}), http.StatusBadRequest, "bad_request")
}

// TestBulkApply: one result per entry, in order; a failure is reported
// for its entry and stops nothing; the installer runs once per entry
// that could be applied.
func TestBulkApply(t *testing.T) {
	e := newEnv(t)
	_, err := e.updater.Dismiss(t.Context(), e.beta.ID, "carol", "")
	require.NoError(t, err)
	body := fmt.Sprintf(`{"ids": [%d, %d, %d, 424242]}`, e.beta.ID, e.alpha.ID, e.gamma.ID)
	w := e.do(req{method: "POST", path: path("/bulk/apply"), body: body})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[bulkResponse](t, w)
	require.Len(t, got.Results, 4)
	assert.Equal(t, 1, got.Succeeded)
	assert.Equal(t, 3, got.Failed)
	wantCodes := []string{"conflict", "", "confirmation_required", "not_found"}
	for i, res := range got.Results {
		if wantCodes[i] == "" {
			assert.True(t, res.OK, "result %d", i)
			assert.Nil(t, res.Error)
			assert.Equal(t, "applied", res.Update["status"])
			continue
		}
		assert.False(t, res.OK, "result %d", i)
		require.NotNil(t, res.Error, "result %d", i)
		assert.Equal(t, wantCodes[i], res.Error.Code, "result %d", i)
	}
	assert.Equal(t, e.beta.ID, got.Results[0].ID)
	assert.Equal(t, "dismissed", got.Results[0].Update["status"], "a failed entry's state is shown")
	assert.Nil(t, got.Results[3].Update)
	require.Equal(t, 1, e.installer.count())
	assert.Equal(t, "ws-a", e.installer.request(0).WorkspaceID)

	// Confirmed, the moved tag is applied too.
	w = e.do(req{method: "POST", path: path("/bulk/apply"), body: fmt.Sprintf(`{"ids": [%d], "confirm_tag_moved": true}`, e.gamma.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, 1, decode[bulkResponse](t, w).Succeeded)
	assert.Equal(t, 2, e.installer.count())
}

func TestBulkDismissAndRestore(t *testing.T) {
	e := newEnv(t)
	w := e.do(req{method: "POST", path: path("/bulk/dismiss"), body: fmt.Sprintf(`{"ids": [%d, %d], "reason": "freeze"}`, e.alpha.ID, e.beta.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, 2, decode[bulkResponse](t, w).Succeeded)
	assert.Equal(t, "freeze", e.get(e.alpha.ID).Reason)
	assert.Equal(t, "alice", e.get(e.beta.ID).DecidedBy)

	w = e.do(req{method: "POST", path: path("/bulk/restore"), body: fmt.Sprintf(`{"ids": [%d, %d, %d]}`, e.alpha.ID, e.beta.ID, e.gamma.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[bulkResponse](t, w)
	assert.Equal(t, 3, got.Succeeded, "a pending entry is restored already")
	for _, u := range e.all() {
		assert.Equal(t, tracking.StatusPending, u.Status)
	}
}

// TestBulkRefusesBadRequests: a bad list changes nothing.
func TestBulkRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint(i + 1)
	}
	for _, body := range []string{
		``, `{}`, `{"ids": []}`, `{"ids": [0]}`, `{"ids": [-1]}`, `{"ids": [1.5]}`, `{"ids": ["1"]}`,
		fmt.Sprintf(`{"ids": [%d, %d]}`, e.alpha.ID, e.alpha.ID),
		`{"ids": [` + strings.Join(many, ",") + `]}`,
		fmt.Sprintf(`{"ids": [%d], "reason": "x"}`, e.alpha.ID),
	} {
		requireError(t, e.do(req{method: "POST", path: path("/bulk/apply"), body: body}), http.StatusBadRequest, "bad_request")
	}
	requireError(t, e.do(req{method: "POST", path: path("/bulk/dismiss"), body: fmt.Sprintf(`{"ids": [%d], "confirm_tag_moved": true}`, e.alpha.ID)}), http.StatusBadRequest, "bad_request")
	requireError(t, e.do(req{method: "GET", path: path("/bulk/apply")}), http.StatusMethodNotAllowed, "method_not_allowed")
	assert.Zero(t, e.installer.count())
	for _, u := range e.all() {
		assert.Equal(t, tracking.StatusPending, u.Status)
	}
}

// TestFormBulkApply: "Apply all" applies each entry, the installer once
// per workspace, and the page says how many were applied.
func TestFormBulkApply(t *testing.T) {
	e := newEnv(t)
	w := e.postForm(path("/ui/bulk/apply"), url.Values{"id": {fmt.Sprint(e.alpha.ID), fmt.Sprint(e.beta.ID)}})
	page, loc := e.follow(w)
	assert.Contains(t, loc, "op=bulk_apply")
	assert.Equal(t, 2, e.installer.count())
	assert.Contains(t, page.Body.String(), "Applied 2 updates.")

	// Restore from the history.
	_, err := e.updater.Dismiss(t.Context(), e.gamma.ID, "carol", "")
	require.NoError(t, err)
	assert.Contains(t, rowOf(t, e.page(""), e.gamma.ID), fmt.Sprintf(`action="/admin/ui/plugin-updates/%d/restore"`, e.gamma.ID), "the history offers to restore it")
	page, _ = e.follow(e.postForm(path("/ui/plugin-updates/%d/restore", e.gamma.ID), url.Values{}))
	assert.Contains(t, page.Body.String(), "Restored gamma")
	assert.Equal(t, tracking.StatusPending, e.get(e.gamma.ID).Status)
}
