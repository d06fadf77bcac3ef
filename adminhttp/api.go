package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// updateJSON is the API shape of a queue entry. Times are RFC 3339 in UTC;
// a time that is not set is null, never omitted, so every key is always
// present.
type updateJSON struct {
	ID           int64      `json:"id"`
	WorkspaceID  string     `json:"workspace_id"`
	PluginName   string     `json:"plugin_name"`
	Source       string     `json:"source"`
	Ref          string     `json:"ref"`
	FromSHA      string     `json:"from_sha"`
	ToSHA        string     `json:"to_sha"`
	FromVersion  string     `json:"from_version"`
	ToVersion    string     `json:"to_version"`
	Kind         string     `json:"kind"`
	Bump         string     `json:"bump"`
	Status       string     `json:"status"`
	DetectedAt   *time.Time `json:"detected_at"`
	LastSeenAt   *time.Time `json:"last_seen_at"`
	DecidedAt    *time.Time `json:"decided_at"`
	DecidedBy    string     `json:"decided_by"`
	Reason       string     `json:"reason"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"last_error"`
	RestartError string     `json:"restart_error"`
	// Verification is the signature check of to_sha; Override the reason
	// an operator gave for applying it although the check blocked it.
	Verification verificationJSON `json:"verification"`
	Override     string           `json:"override"`
}

// verificationJSON is the API shape of a tracking.Verification. blocks
// says whether Apply refuses the entry without an override
// (tracking.Verification.Blocks).
type verificationJSON struct {
	State    string `json:"state"`
	Signer   string `json:"signer"`
	By       string `json:"by"`
	Detail   string `json:"detail"`
	Required bool   `json:"required"`
	Blocks   bool   `json:"blocks"`
}

func toVerificationJSON(v tracking.Verification) verificationJSON {
	return verificationJSON{State: v.State.String(), Signer: v.Signer, By: v.By, Detail: v.Detail, Required: v.Required, Blocks: v.Blocks()}
}

func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toUpdateJSON(u tracking.Update) *updateJSON {
	return &updateJSON{
		ID: u.ID, WorkspaceID: u.WorkspaceID, PluginName: u.PluginName,
		Source: u.Source.String(), Ref: u.Ref.String(),
		FromSHA: u.FromSHA, ToSHA: u.ToSHA, FromVersion: u.FromVersion, ToVersion: u.ToVersion,
		Kind: string(u.Kind), Bump: bump(u), Status: string(u.Status),
		DetectedAt: jsonTime(u.DetectedAt), LastSeenAt: jsonTime(u.LastSeenAt), DecidedAt: jsonTime(u.DecidedAt),
		DecidedBy: u.DecidedBy, Reason: u.Reason, Attempts: u.Attempts,
		LastError: errorText(u.LastError), RestartError: errorText(u.RestartError),
		Verification: toVerificationJSON(u.Verification), Override: u.Override,
	}
}

// installJSON is the API shape of an install.
type installJSON struct {
	WorkspaceID      string     `json:"workspace_id"`
	PluginName       string     `json:"plugin_name"`
	Source           string     `json:"source"`
	Ref              string     `json:"ref"`
	Tracked          bool       `json:"tracked"`
	InstalledSHA     string     `json:"installed_sha"`
	InstalledVersion string     `json:"installed_version"`
	InstalledAt      *time.Time `json:"installed_at"`
	UpdatedAt        *time.Time `json:"updated_at"`
}

func toInstallJSON(in tracking.Install) installJSON {
	return installJSON{
		WorkspaceID: in.WorkspaceID, PluginName: in.PluginName,
		Source: in.Source.String(), Ref: in.Ref.String(), Tracked: in.Tracked(),
		InstalledSHA: in.InstalledSHA, InstalledVersion: in.InstalledVersion,
		InstalledAt: jsonTime(in.InstalledAt), UpdatedAt: jsonTime(in.UpdatedAt),
	}
}

type updatesPage struct {
	Updates    []*updateJSON `json:"updates"`
	NextCursor string        `json:"next_cursor"`
}

type updateBody struct {
	Update *updateJSON `json:"update"`
}

type installsPage struct {
	Installs   []installJSON `json:"installs"`
	NextCursor string        `json:"next_cursor"`
}

type reportBody struct {
	Report reportJSON `json:"report"`
}

// reportJSON is the API shape of a [drift.Report]. The duration is in
// nanoseconds; errors is left out when no upstream failed.
type reportJSON struct {
	Skipped    bool                `json:"skipped"`
	Upstreams  int                 `json:"upstreams"`
	Resolved   int                 `json:"resolved"`
	Unchanged  int                 `json:"unchanged"`
	Failed     int                 `json:"failed"`
	Deferred   int                 `json:"deferred"`
	Installs   int                 `json:"installs"`
	Queued     int                 `json:"queued"`
	Superseded int                 `json:"superseded"`
	Duration   time.Duration       `json:"duration_ns"`
	Errors     []upstreamErrorJSON `json:"errors,omitempty"`
}

// upstreamErrorJSON is the API shape of a [drift.UpstreamError].
type upstreamErrorJSON struct {
	Source string `json:"source"`
	Ref    string `json:"ref"`
	Error  string `json:"error"`
}

// toReportJSON is rep as operators see it, on the API and the page: its
// errors through errorText.
func toReportJSON(rep drift.Report) reportJSON {
	v := reportJSON{
		Skipped: rep.Skipped, Upstreams: rep.Upstreams, Resolved: rep.Resolved, Unchanged: rep.Unchanged,
		Failed: rep.Failed, Deferred: rep.Deferred, Installs: rep.Installs, Queued: rep.Queued,
		Superseded: rep.Superseded, Duration: rep.Duration,
	}
	for _, ue := range rep.Errors {
		v.Errors = append(v.Errors, upstreamErrorJSON{Source: ue.Source, Ref: ue.Ref, Error: errorText(ue.Error)})
	}
	return v
}

// The states of a sweep in sweepJSON.
const (
	sweepNone    = "none"    // no sweep is known: none recorded, none here
	sweepRunning = "running" // since started_at
	sweepDone    = "done"    // at finished_at, with its report
	sweepFailed  = "failed"  // stopped before it was done; the report says what it did
)

// sweepJSON is the API shape of the latest sweep. Every key is always
// present; report is null until the sweep ends.
type sweepJSON struct {
	State      string      `json:"state"`
	StartedAt  *time.Time  `json:"started_at"`
	FinishedAt *time.Time  `json:"finished_at"`
	Report     *reportJSON `json:"report"`
	Error      string      `json:"error"`
}

type sweepBody struct {
	Sweep sweepJSON `json:"sweep"`
}

func toSweepJSON(st drift.SweepStatus) sweepJSON {
	v := sweepJSON{State: sweepState(st), StartedAt: jsonTime(st.StartedAt), FinishedAt: jsonTime(st.FinishedAt)}
	if v.State == sweepDone || v.State == sweepFailed {
		rep := toReportJSON(st.Report)
		v.Report = &rep
		v.Error = sweepFailure(st.Err)
	}
	return v
}

func sweepState(st drift.SweepStatus) string {
	switch {
	case st.StartedAt.IsZero():
		return sweepNone
	case st.Running:
		return sweepRunning
	case st.Err != nil:
		return sweepFailed
	}
	return sweepDone
}

// sweepFailure says why a sweep stopped, in words written here: the
// sweep's error is the store's, or the lease's, and is not sent.
func sweepFailure(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		return "the sweep was stopped before it was done (the sweeper was stopped); its report says what it did until then"
	}
	return "the sweep could not finish; the sweeper's log has the details, and its report says what it did until then"
}

// listUpdates serves GET {prefix}/plugin-updates.
func (h *handler) listUpdates(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r, []string{"status", "workspace_id", "workspace_prefix", "plugin_name", "kind", "source", "order", "limit", "cursor"}, "status", "kind")
	if e != nil {
		h.fail(w, r, e)
		return
	}
	statuses, e := q.statuses()
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.serveUpdates(w, r, q, statuses)
}

// listPending serves GET {prefix}/plugin-updates-pending, the route of the
// system plugindrift replaces: the pending list, oldest first.
func (h *handler) listPending(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r, []string{"workspace_id", "workspace_prefix", "plugin_name", "kind", "source", "order", "limit", "cursor"}, "kind")
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.serveUpdates(w, r, q, []tracking.UpdateStatus{tracking.StatusPending})
}

func (h *handler) serveUpdates(w http.ResponseWriter, r *http.Request, q query, statuses []tracking.UpdateStatus) {
	p, e := listParams(q, statuses)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	limit, e := q.limit()
	if e != nil {
		h.fail(w, r, e)
		return
	}
	cursor := q.get("cursor")
	if p.ByDecision {
		p.AfterDecidedAt, p.AfterID, e = decodeDecisionCursor(cursor)
	} else {
		p.AfterID, e = decodeUpdateCursor(cursor, p.Newest)
	}
	if e != nil {
		h.fail(w, r, e)
		return
	}
	p.Limit = limit + 1 // one more tells whether there is a next page
	us, err := h.store.ListUpdates(r.Context(), p)
	if err != nil {
		h.internal(w, r, "list updates", err)
		return
	}
	page := updatesPage{Updates: make([]*updateJSON, 0, min(len(us), limit))}
	if len(us) > limit {
		us = us[:limit]
		last := us[limit-1]
		if p.ByDecision {
			page.NextCursor = encodeDecisionCursor(last.DecidedAt, last.ID)
		} else {
			page.NextCursor = encodeUpdateCursor(p.Newest, last.ID)
		}
	}
	for _, u := range us {
		page.Updates = append(page.Updates, toUpdateJSON(u))
	}
	h.writeJSON(w, r, http.StatusOK, page)
}

// listParams reads the filters and the order of an update list, with the
// same per-value rules as the page's filters.
func listParams(q query, statuses []tracking.UpdateStatus) (storage.ListUpdatesParams, *apiError) {
	p := storage.ListUpdatesParams{Statuses: statuses}
	var e *apiError
	if p.WorkspaceID, e = q.workspace("workspace_id"); e != nil {
		return p, e
	}
	if p.WorkspacePrefix, e = q.workspacePrefix("workspace_prefix"); e != nil {
		return p, e
	}
	if p.PluginName, e = q.plugin("plugin_name"); e != nil {
		return p, e
	}
	if p.Kinds, e = q.kinds("kind"); e != nil {
		return p, e
	}
	if p.Source, e = q.source("source"); e != nil {
		return p, e
	}
	switch q.get("order") {
	case "", "oldest":
	case "newest":
		p.Newest = true
	case "decided":
		p.ByDecision = true
		if len(p.Statuses) == 0 {
			p.Statuses = []tracking.UpdateStatus{tracking.StatusApplied, tracking.StatusDismissed, tracking.StatusSuperseded}
		}
		for _, st := range p.Statuses {
			if !st.Terminal() {
				return p, errBadRequest("order=decided lists decided entries: use it with status applied, dismissed or superseded (or none)")
			}
		}
	default:
		return p, errBadRequest("order must be oldest (the default), newest or decided (newest decision first)")
	}
	return p, nil
}

// getUpdate serves GET {prefix}/plugin-updates/{id}.
func (h *handler) getUpdate(w http.ResponseWriter, r *http.Request) {
	id, e := pathID(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	u, err := h.store.GetUpdate(r.Context(), id)
	if err != nil {
		if errors.Is(err, tracking.ErrNotFound) {
			h.fail(w, r, notFound(id))
			return
		}
		h.internal(w, r, "get update", err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, updateBody{toUpdateJSON(u)})
}

func notFound(id int64) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("update %d does not exist", id)}
}

// apply serves POST {prefix}/plugin-updates/{id}/apply.
func (h *handler) apply(w http.ResponseWriter, r *http.Request) { h.decideOne(w, r, opApply) }

// dismiss serves POST {prefix}/plugin-updates/{id}/dismiss. The reason is
// held to the Updater's rules by the Updater itself.
func (h *handler) dismiss(w http.ResponseWriter, r *http.Request) { h.decideOne(w, r, opDismiss) }

// decisionError classifies an error of Updater.Apply or Dismiss, logs it
// with its full text, and returns the response: a message written here,
// plus the entry's current state when the Updater returned one.
func (h *handler) decisionError(ctx context.Context, op string, id int64, actor string, u tracking.Update, err error) *apiError {
	var e apiError
	level := slog.LevelWarn
	switch {
	// First: a lost claim may come with a failed install that could not
	// be recorded, which must not be reported as recorded.
	case errors.Is(err, tracking.ErrClaimLost):
		e = apiError{status: http.StatusConflict, code: codeClaimLost,
			message: fmt.Sprintf("another apply took update %d over while this one was installing; this one's outcome was not recorded (the entry shows the current state)", id)}
	case errors.Is(err, drift.ErrInstallFailed):
		e = apiError{status: http.StatusBadGateway, code: codeInstallFailed,
			message: fmt.Sprintf("the installer failed; update %d is pending again (its last_error says why)", id)}
	case errors.Is(err, drift.ErrRestartFailed):
		e = apiError{status: http.StatusBadGateway, code: codeRestartFailed,
			message: fmt.Sprintf("update %d was installed and recorded, but restarting the workspace failed (see restart_error); apply it again to retry only the restart", id)}
	case errors.Is(err, tracking.ErrNotFound):
		e, level = *notFound(id), slog.LevelInfo
	case errors.Is(err, tracking.ErrBusy):
		e, level = apiError{status: http.StatusConflict, code: codeBusy,
			message: fmt.Sprintf("update %d is being applied by another request; try again when it is done", id)}, slog.LevelInfo
	case errors.Is(err, drift.ErrUnverified):
		e, level = *errVerificationRequired(id, u.Verification.State), slog.LevelInfo
	case isNotCurrent(op, u, err):
		e, level = apiError{status: http.StatusConflict, code: codeConflict, message: notCurrentMessage(id)}, slog.LevelInfo
	case errors.Is(err, tracking.ErrConflict):
		e, level = apiError{status: http.StatusConflict, code: codeConflict,
			message: fmt.Sprintf("update %d is %s and cannot be %s", id, statusOr(u, "in another state"), pastTense(op))}, slog.LevelInfo
	case errors.Is(err, tracking.ErrInvalidArgument):
		e = *errBadRequest(fmt.Sprintf("the updater refused to %s update %d with these arguments", op, id))
		// The actor was checked on the way in; the reason is what is left.
		switch op {
		case opDismiss:
			e.message = reasonRule
		case opApply:
			e.message = overrideRule
		}
	default:
		e, level = *errInternal, slog.LevelError
	}
	if u.ID != 0 {
		e.update = toUpdateJSON(u)
	}
	h.log.Log(ctx, level, "adminhttp: "+op+" failed", "update", id, "actor", actor, "code", e.code, "error", err)
	return &e
}

func statusOr(u tracking.Update, fallback string) string {
	if u.Status != "" {
		return string(u.Status)
	}
	return fallback
}

// reasonRule says what a dismissal reason may be.
var reasonRule = fmt.Sprintf("the reason must be at most %d bytes of UTF-8 text, with no control characters but newline and tab", drift.MaxReasonLen)

func pastTense(op string) string {
	switch op {
	case opApply:
		return "applied"
	case opRestore:
		return "restored"
	}
	return op + "ed"
}

// sweep serves POST {prefix}/sweeps: 200 with the report of a sweep that
// ended within SweepWait, else 202 with where to read it.
func (h *handler) sweep(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	if e := h.readJSON(w, r, "", nil); e != nil {
		h.fail(w, r, e)
		return
	}
	run := h.awaitSweep(r)
	select {
	case <-run.Done():
	default:
		w.Header().Set("Location", h.prefix+"/sweeps/latest")
		h.writeJSON(w, r, http.StatusAccepted, sweepBody{toSweepJSON(h.sweeper.LatestSweep(r.Context()))})
		return
	}
	rep, err := run.Result()
	if err != nil {
		h.internal(w, r, "sweep", err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, reportBody{toReportJSON(rep)})
}

// awaitSweep triggers a sweep, or joins the running one, and waits for it
// to end for at most SweepWait, or until the client leaves. The sweep runs
// under the Sweeper's lifetime, never under the request's: it goes on
// when this returns.
func (h *handler) awaitSweep(r *http.Request) *drift.SweepRun {
	run := h.sweeper.Trigger()
	h.log.InfoContext(r.Context(), "adminhttp: sweep requested", "actor", actorOf(r.Context()), "started_at", run.StartedAt())
	t := time.NewTimer(h.sweepWait)
	defer t.Stop()
	select {
	case <-run.Done():
	case <-t.C:
	case <-r.Context().Done():
	}
	return run
}

// latestSweep serves GET {prefix}/sweeps/latest.
func (h *handler) latestSweep(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	if _, e := parseQuery(r, nil); e != nil {
		h.fail(w, r, e)
		return
	}
	h.writeJSON(w, r, http.StatusOK, sweepBody{toSweepJSON(h.sweeper.LatestSweep(r.Context()))})
}

// listInstalls serves GET {prefix}/installs.
func (h *handler) listInstalls(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r, []string{"workspace_id", "workspace_prefix", "plugin_name", "limit", "cursor"})
	if e != nil {
		h.fail(w, r, e)
		return
	}
	var p storage.ListInstallsParams
	if p.WorkspaceID, e = q.workspace("workspace_id"); e != nil {
		h.fail(w, r, e)
		return
	}
	if p.WorkspacePrefix, e = q.workspacePrefix("workspace_prefix"); e != nil {
		h.fail(w, r, e)
		return
	}
	if p.PluginName, e = q.plugin("plugin_name"); e != nil {
		h.fail(w, r, e)
		return
	}
	limit, e := q.limit()
	if e != nil {
		h.fail(w, r, e)
		return
	}
	if p.AfterWorkspaceID, p.AfterPluginName, e = decodeInstallCursor(q.get("cursor")); e != nil {
		h.fail(w, r, e)
		return
	}
	p.Limit = limit + 1
	ins, err := h.store.ListInstalls(r.Context(), p)
	if err != nil {
		h.internal(w, r, "list installs", err)
		return
	}
	page := installsPage{Installs: make([]installJSON, 0, min(len(ins), limit))}
	if len(ins) > limit {
		ins = ins[:limit]
		page.NextCursor = encodeInstallCursor(ins[limit-1])
	}
	for _, in := range ins {
		page.Installs = append(page.Installs, toInstallJSON(in))
	}
	h.writeJSON(w, r, http.StatusOK, page)
}

// internal logs err with its full text and answers 500 without it.
func (h *handler) internal(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "adminhttp: "+op+" failed", "method", r.Method, "path", r.URL.Path, "actor", actorOf(r.Context()), "error", err)
	h.fail(w, r, errInternal)
}
