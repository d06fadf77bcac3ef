package adminhttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// Integrity and rollout: JSON routes for rollbacks and holds, each named
// by its operation. Seeing holds and an explanation is reading (OpRead);
// releasing a hold is OpHolds (a hold is made by a rollback, OpRollback).
//
//	POST {prefix}/installs/{workspace}/{plugin}/rollback  {"to_sha": "…", "reason": "…"}  rollback
//	GET  {prefix}/holds?workspace_id=…&plugin_name=…&active=true                          read
//	POST {prefix}/holds/{id}/release                                                      holds
//	GET  {prefix}/installs/{workspace}/{plugin}/explain                                   read
func (h *handler) integrityRoutes() []route {
	return []route{
		{"/installs/{workspace}/{plugin}/rollback", map[string]opHandler{http.MethodPost: {OpRollback, h.rollback}}},
		{"/holds", map[string]opHandler{http.MethodGet: {OpRead, h.listHolds}}},
		{"/holds/{id}/release", map[string]opHandler{http.MethodPost: {OpHolds, h.releaseHold}}},
		{"/installs/{workspace}/{plugin}/explain", map[string]opHandler{http.MethodGet: {OpRead, h.explain}}},
	}
}

const opRollback = "rollback"

// rollbackShape is the body of POST …/rollback.
const rollbackShape = `"to_sha": "<full commit id>", "reason": "…"`

// holdJSON is the API shape of a hold.
type holdJSON struct {
	ID          int64      `json:"id"`
	WorkspaceID string     `json:"workspace_id"`
	PluginName  string     `json:"plugin_name"`
	SHA         string     `json:"sha"`
	Version     string     `json:"version"`
	Active      bool       `json:"active"`
	CreatedAt   *time.Time `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	Reason      string     `json:"reason"`
	ReleasedAt  *time.Time `json:"released_at"`
	ReleasedBy  string     `json:"released_by"`
}

func toHoldJSON(x tracking.Hold) *holdJSON {
	return &holdJSON{
		ID: x.ID, WorkspaceID: x.WorkspaceID, PluginName: x.PluginName, SHA: x.SHA, Version: x.Version,
		Active: x.Active(), CreatedAt: jsonTime(x.CreatedAt), CreatedBy: x.CreatedBy, Reason: x.Reason,
		ReleasedAt: jsonTime(x.ReleasedAt), ReleasedBy: x.ReleasedBy,
	}
}

// installPath reads and checks the {workspace} and {plugin} of a route.
func installPath(r *http.Request) (string, string, *apiError) {
	ws, plugin := r.PathValue("workspace"), r.PathValue("plugin")
	if tracking.ValidateWorkspaceID(ws) != nil {
		return "", "", errBadRequest(fmt.Sprintf("%s is not a workspace id: %s", redact.Quote(ws), workspaceRule))
	}
	if tracking.ValidatePluginName(plugin) != nil {
		return "", "", errBadRequest(fmt.Sprintf("%s is not a plugin name: %s", redact.Quote(plugin), pluginRule))
	}
	return ws, plugin, nil
}

// rollback serves POST {prefix}/installs/{workspace}/{plugin}/rollback:
// 200 with the applied rollback entry and the hold it recorded.
func (h *handler) rollback(w http.ResponseWriter, r *http.Request) {
	ws, plugin, e := installPath(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	var toSHA, reason string
	if e := h.readJSON(w, r, rollbackShape, map[string]any{"to_sha": &toSHA, "reason": &reason}); e != nil {
		h.fail(w, r, e)
		return
	}
	if tracking.ValidateSHA(toSHA) != nil {
		h.fail(w, r, errBadToSHA)
		return
	}
	actor := actorOf(r.Context())
	u, hold, err := h.updater.Rollback(r.Context(), ws, plugin, toSHA, actor, reason)
	if err != nil {
		h.fail(w, r, h.rollbackError(r, ws, plugin, actor, u, err))
		return
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Update *updateJSON `json:"update"`
		Hold   *holdJSON   `json:"hold"`
	}{toUpdateJSON(u), toHoldJSON(hold)})
}

// errBadToSHA refuses a rollback's to_sha, on the API and the page.
var errBadToSHA = errBadRequest("to_sha must be the full commit id to roll back to: 40 or 64 lowercase hex digits")

// installNotFound is the answer about an install that does not exist.
func installNotFound(ws, plugin string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("install %s does not exist", redact.Quote(ws+"/"+plugin))}
}

// rollbackError classifies an error of Updater.Rollback: the outcomes of
// the install share Apply's answers; the others name the install.
func (h *handler) rollbackError(r *http.Request, ws, plugin, actor string, u tracking.Update, err error) *apiError {
	name := redact.Quote(ws + "/" + plugin)
	var e *apiError
	switch {
	case u.ID != 0:
		return h.decisionError(r.Context(), opRollback, u.ID, actor, u, err)
	case errors.Is(err, tracking.ErrNotFound):
		e = installNotFound(ws, plugin)
	case errors.Is(err, tracking.ErrBusy):
		e = &apiError{status: http.StatusConflict, code: codeBusy, message: fmt.Sprintf("an update of %s is being applied; roll back when it is done", name)}
	case errors.Is(err, tracking.ErrConflict):
		e = &apiError{status: http.StatusConflict, code: codeConflict, message: fmt.Sprintf("%s already has that commit installed", name)}
	case errors.Is(err, tracking.ErrInvalidArgument):
		e = errBadRequest(reasonRule)
	default:
		e = errInternal
	}
	h.log.Log(r.Context(), slog.LevelInfo, "adminhttp: rollback failed", "install", ws+"/"+plugin, "actor", actor, "code", e.code, "error", err)
	return e
}

// listHolds serves GET {prefix}/holds.
func (h *handler) listHolds(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r, []string{"workspace_id", "plugin_name", "active"})
	if e != nil {
		h.fail(w, r, e)
		return
	}
	ws, e := q.workspace("workspace_id")
	if e != nil {
		h.fail(w, r, e)
		return
	}
	plugin, e := q.plugin("plugin_name")
	if e != nil {
		h.fail(w, r, e)
		return
	}
	active := false
	switch q.get("active") {
	case "", "false":
	case "true":
		active = true
	default:
		h.fail(w, r, errBadRequest("active must be true or false"))
		return
	}
	hs, err := h.updater.ListHolds(r.Context(), ws, plugin, active)
	if err != nil {
		h.internal(w, r, "list holds", err)
		return
	}
	out := make([]*holdJSON, len(hs))
	for i, x := range hs {
		out[i] = toHoldJSON(x)
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Holds []*holdJSON `json:"holds"`
	}{out})
}

// releaseHold serves POST {prefix}/holds/{id}/release.
func (h *handler) releaseHold(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	if e := h.readJSON(w, r, "", nil); e != nil {
		h.fail(w, r, e)
		return
	}
	hold, err := h.updater.ReleaseHold(r.Context(), id, actorOf(r.Context()))
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		h.fail(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("hold %d does not exist", id)})
	case err != nil:
		h.internal(w, r, "release hold", err)
	default:
		h.writeJSON(w, r, http.StatusOK, struct {
			Hold *holdJSON `json:"hold"`
		}{toHoldJSON(hold)})
	}
}

// upstreamJSON is the API shape of an upstream's last resolution.
type upstreamJSON struct {
	LastSHA             string     `json:"last_sha"`
	LastVersion         string     `json:"last_version"`
	LastCheckedAt       *time.Time `json:"last_checked_at"`
	LastError           string     `json:"last_error"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
}

// reasonJSON is one reason of an explanation.
type reasonJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Change  string `json:"change"`
}

// explainJSON is the answer of GET …/explain.
type explainJSON struct {
	Install installJSON `json:"install"`
	// Ring is the install's rollout ring.
	Ring       int           `json:"ring"`
	Upstream   *upstreamJSON `json:"upstream"`
	OpenUpdate *updateJSON   `json:"open_update"`
	Dismissed  []*updateJSON `json:"dismissed"`
	Holds      []*holdJSON   `json:"holds"`
	Reasons    []reasonJSON  `json:"reasons"`
}

// explain serves GET {prefix}/installs/{workspace}/{plugin}/explain: why
// the install is or is not updating, each reason with what would change
// it.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	ws, plugin, e := installPath(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	if _, e := parseQuery(r, nil); e != nil {
		h.fail(w, r, e)
		return
	}
	x, err := h.updater.Explain(r.Context(), ws, plugin)
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		h.fail(w, r, installNotFound(ws, plugin))
		return
	case err != nil:
		h.internal(w, r, "explain", err)
		return
	}
	body := explainJSON{Install: toInstallJSON(x.Install), Ring: x.Install.Ring, Dismissed: []*updateJSON{}, Holds: []*holdJSON{}, Reasons: h.explainReasons(x.Reasons)}
	if up := x.Upstream; up != nil {
		body.Upstream = &upstreamJSON{LastSHA: up.LastSHA, LastVersion: up.LastVersion, LastCheckedAt: jsonTime(up.LastCheckedAt),
			LastError: errorText(up.LastError), ConsecutiveFailures: up.ConsecutiveFailures}
	}
	if x.Open != nil {
		body.OpenUpdate = toUpdateJSON(*x.Open)
	}
	for _, d := range x.Dismissed {
		body.Dismissed = append(body.Dismissed, toUpdateJSON(d))
	}
	for _, hd := range x.Holds {
		body.Holds = append(body.Holds, toHoldJSON(hd))
	}
	h.writeJSON(w, r, http.StatusOK, body)
}
