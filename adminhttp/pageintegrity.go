package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// The page's integrity views: the holds tab (view=holds) and one
// install's explanation (view=explain), with their forms: releasing a
// hold and rolling an install back.

// The views, besides those of page.go.
const (
	viewHolds   = "holds"
	viewExplain = "explain"
)

// The forms of these views whose outcome the page shows.
const opRelease = "release" // a hold released

// holdsView is the holds tab: the active holds, then the released ones,
// each paged by hold id ("qc" and "hc").
type holdsView struct {
	Active, Released *holdsSection
}

type holdsSection struct {
	ID, Title, Note, Empty string
	Rows                   []holdRow
	NextURL                string
}

type holdRow struct {
	ID                     int64
	Workspace, Plugin      string
	SHA, Short, Version    string
	Active                 bool
	CreatedAt, Created     string
	CreatedBy, Reason      string
	ReleasedAt, Released   string
	ReleasedBy             string
	ReleaseURL, ExplainURL string
	ReleaseLabel           string
}

func (h *handler) holdRow(x tracking.Hold, now time.Time) holdRow {
	r := holdRow{
		ID: x.ID, Workspace: x.WorkspaceID, Plugin: x.PluginName, SHA: x.SHA, Short: shortSHA(x.SHA), Version: x.Version,
		Active: x.Active(), CreatedAt: exactTime(x.CreatedAt), Created: age(now, x.CreatedAt), CreatedBy: x.CreatedBy, Reason: x.Reason,
		ReleasedBy: x.ReleasedBy,
		ReleaseURL: fmt.Sprintf("%s/ui/holds/%d/release", h.prefix, x.ID),
		ExplainURL: h.explainURL(x.WorkspaceID, x.PluginName),
	}
	r.ReleaseLabel = "Release the hold on " + x.PluginName + " " + versionOrSHA(x.Version, x.SHA) + " in " + x.WorkspaceID
	if !x.ReleasedAt.IsZero() {
		r.ReleasedAt, r.Released = exactTime(x.ReleasedAt), age(now, x.ReleasedAt)
	}
	return r
}

// explainURL is the page's explanation of one install.
func (h *handler) explainURL(workspace, plugin string) string {
	return h.pageURL(url.Values{"view": {viewExplain}, "workspace": {workspace}, "plugin": {plugin}})
}

// maxHoldScan bounds the store pages one holds section reads per page
// shown; a section that has not found a page of rows by then links to
// the rest from where it stopped.
const maxHoldScan = 10

// holdsTab reads a page of active holds and one of released holds that
// the workspace (prefix) and plugin filters select.
func (h *handler) holdsTab(ctx context.Context, q query, f filters, now time.Time) (*holdsView, *apiError) {
	activeAfter, e := decodeUpdateCursor(q.get("qc"), false) // hold ids, ascending
	if e != nil {
		return nil, e
	}
	releasedAfter, e := decodeUpdateCursor(q.get("hc"), false)
	if e != nil {
		return nil, e
	}
	cursors := url.Values{}
	for _, k := range []string{"qc", "hc"} {
		if c := q.get(k); c != "" {
			cursors.Set(k, c)
		}
	}
	v := &holdsView{}
	var err error
	if v.Active, err = h.holdsSection(ctx, f, true, activeAfter, cursors, now); err == nil {
		v.Released, err = h.holdsSection(ctx, f, false, releasedAfter, cursors, now)
	}
	if err != nil {
		h.log.ErrorContext(ctx, "adminhttp: list holds failed", "error", err)
		return nil, errInternal
	}
	v.Active.ID, v.Active.Title, v.Active.Empty = "holds-active", "Active holds", "No install is held."
	v.Active.Note = "A rollback holds the commit it rolled back from: it is not queued again for that install until the hold is released."
	v.Released.ID, v.Released.Title, v.Released.Empty = "holds-released", "Released holds", "No hold has been released."
	return v, nil
}

// holdsSection reads up to a page of the holds that are active (or, when
// not active, released) after id after, in id order. cursors are the
// tab's current cursors, kept in the next page's link.
func (h *handler) holdsSection(ctx context.Context, f filters, active bool, after int64, cursors url.Values, now time.Time) (*holdsSection, error) {
	p := storage.ListHoldsParams{PluginName: f.Plugin, Active: active, AfterID: after, Limit: storage.MaxLimit}
	s := &holdsSection{}
	more := false
scan:
	for pages := 0; ; pages++ {
		if pages == maxHoldScan {
			more = true
			break
		}
		hs, err := h.store.ListHolds(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, x := range hs {
			if x.Active() == active && strings.HasPrefix(x.WorkspaceID, f.Workspace) {
				if len(s.Rows) == pageSize {
					more = true
					break scan
				}
				s.Rows = append(s.Rows, h.holdRow(x, now))
			}
			p.AfterID = x.ID
		}
		if len(hs) < p.Limit {
			break
		}
	}
	if more {
		q := f.values()
		q.Set("view", viewHolds)
		for k, vs := range cursors {
			q[k] = vs
		}
		key := "hc"
		if active {
			key = "qc"
		}
		q.Set(key, encodeUpdateCursor(false, p.AfterID))
		s.NextURL = h.pageURL(q)
	}
	return s, nil
}

// formReleaseHold serves POST {prefix}/ui/holds/{id}/release, the holds
// tab's Release: it goes back to the tab, whose flash says what the hold
// is now.
func (h *handler) formReleaseHold(w http.ResponseWriter, r *http.Request) {
	done, form, ok := h.formDecision(w, r, opRelease)
	if !ok {
		return
	}
	_, err := h.updater.ReleaseHold(r.Context(), done.ID, actorOf(r.Context()))
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		done.Result = codeNotFound
	case err != nil:
		h.log.ErrorContext(r.Context(), "adminhttp: release hold failed", "hold", done.ID, "actor", actorOf(r.Context()), "error", err)
		done.Result = codeInternal
	}
	f, fe := parseFilters(query{values: form})
	if fe != nil {
		f = filters{}
	}
	q := f.values()
	q.Set("view", viewHolds)
	done.set(q)
	http.Redirect(w, r, h.pageURL(q), http.StatusSeeOther)
}

// holdFlash words the outcome of Release from the hold as it is now.
func (h *handler) holdFlash(ctx context.Context, o outcome) *flash {
	hs, err := h.store.ListHolds(ctx, storage.ListHoldsParams{AfterID: o.ID - 1, Limit: 1})
	if err != nil {
		h.log.ErrorContext(ctx, "adminhttp: read the hold an outcome names", "hold", o.ID, "error", err)
		return nil
	}
	found := len(hs) == 1 && hs[0].ID == o.ID
	switch o.Result {
	case resultOK:
		if found && !hs[0].Active() {
			x := hs[0]
			return flashOK("Released the hold on %s %s in workspace %s: the next check queues it again while upstream still has it.", x.PluginName, versionOrSHA(x.Version, x.SHA), x.WorkspaceID)
		}
	case codeNotFound:
		if !found {
			return flashError("Hold #%d does not exist.", o.ID)
		}
	case codeInternal:
		if found && hs[0].Active() {
			return flashError("Hold #%d was not released: something went wrong; the server log has the details.", o.ID)
		}
	}
	return nil
}

// explainView is the page's answer to "why isn't this updating?" for
// one install.
type explainView struct {
	installRow  // the install, as the installs tab shows it
	Ring        int
	Upstream    *upstreamRow
	Reasons     []reasonJSON
	Open        *rowView
	OpenURL     string // the open entry in the queue
	Dismissed   []rowView
	Holds       []holdRow
	HoldsURL    string // the install's holds, released ones too
	RollbackURL string
}

// explainTab reads the explanation of the install that the workspace and
// plugin parameters name exactly.
func (h *handler) explainTab(ctx context.Context, f filters, now time.Time) (*explainView, *apiError) {
	if tracking.ValidateWorkspaceID(f.Workspace) != nil || f.Plugin == "" {
		return nil, errBadRequest("view=explain explains one install: give its workspace (the full id) and its plugin")
	}
	x, err := h.updater.Explain(ctx, f.Workspace, f.Plugin)
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		return nil, installNotFound(f.Workspace, f.Plugin)
	case err != nil:
		h.log.ErrorContext(ctx, "adminhttp: explain failed", "install", f.Workspace+"/"+f.Plugin, "error", err)
		return nil, errInternal
	}
	in := x.Install
	v := &explainView{
		installRow: h.newInstallRow(in, now), Ring: in.Ring,
		Reasons:     h.explainReasons(x.Reasons),
		HoldsURL:    h.pageURL(url.Values{"view": {viewHolds}, "workspace": {in.WorkspaceID}, "plugin": {in.PluginName}}),
		RollbackURL: fmt.Sprintf("%s/ui/installs/%s/%s/rollback", h.prefix, url.PathEscape(in.WorkspaceID), url.PathEscape(in.PluginName)),
	}
	if up := x.Upstream; up != nil {
		row := h.resolutionRow(in.Source, *up, now)
		v.Upstream = &row
	}
	if x.Open != nil {
		row := h.row(*x.Open, now)
		v.Open = &row
		v.OpenURL = h.pageURL(url.Values{"workspace": {in.WorkspaceID}, "plugin": {in.PluginName}}) + fmt.Sprintf("#update-%d", x.Open.ID)
	}
	for _, d := range x.Dismissed {
		v.Dismissed = append(v.Dismissed, h.row(d, now))
	}
	for _, hd := range x.Holds {
		v.Holds = append(v.Holds, h.holdRow(hd, now))
	}
	return v, nil
}

// formRollback serves POST {prefix}/ui/installs/{workspace}/{plugin}/rollback,
// the explanation's rollback form. A request the Updater refuses before
// anything is installed is answered with the error page; otherwise it
// goes back to the explanation, whose flash says how the rollback went.
func (h *handler) formRollback(w http.ResponseWriter, r *http.Request) {
	ws, plugin, e := installPath(r)
	var form url.Values
	if e == nil {
		form, e = h.readForm(w, r)
	}
	toSHA := strings.TrimSpace(form.Get("to_sha"))
	if e == nil && tracking.ValidateSHA(toSHA) != nil {
		e = errBadToSHA
	}
	if e != nil {
		h.fail(w, r, e)
		return
	}
	actor := actorOf(r.Context())
	u, _, err := h.updater.Rollback(r.Context(), ws, plugin, toSHA, actor, strings.TrimSpace(form.Get("reason")))
	done := outcome{Op: opRollback, ID: u.ID, Result: resultOK}
	if err != nil {
		e := h.rollbackError(r, ws, plugin, actor, u, err)
		if u.ID == 0 {
			h.fail(w, r, e)
			return
		}
		done.Result = e.code
	}
	q := url.Values{"view": {viewExplain}, "workspace": {ws}, "plugin": {plugin}}
	done.set(q)
	http.Redirect(w, r, h.pageURL(q), http.StatusSeeOther)
}

// rollbackFlash words the outcome of the rollback form from u, the
// rollback entry as it is now.
func rollbackFlash(o outcome, u tracking.Update) *flash {
	if u.Kind != tracking.KindRollback {
		return nil
	}
	applied := u.Status == tracking.StatusApplied
	switch o.Result {
	case resultOK:
		if applied && u.RestartError == "" {
			return flashOK("Rolled %s in workspace %s back to %s. A hold keeps %s from being queued again for it; release it under Holds.",
				u.PluginName, u.WorkspaceID, versionOrSHA(u.ToVersion, u.ToSHA), versionOrSHA(u.FromVersion, u.FromSHA))
		}
	case codeRestartFailed:
		if applied && u.RestartError != "" {
			return flashError("Rolled %s in workspace %s back to %s, but restarting the workspace failed. Use “Retry restart” in the queue's history.",
				u.PluginName, u.WorkspaceID, versionOrSHA(u.ToVersion, u.ToSHA))
		}
	case codeInstallFailed:
		if !applied && u.LastError != "" {
			return flashError("Installing %s %s in workspace %s for the rollback failed; the hold stays. The installer's error is in the queue.",
				u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		}
	}
	return nil
}

// explainReasons are an explanation's reasons as the API and the page
// show them: a failing resolution quotes its stored error, shown as
// every error is, and the routes a change names carry this handler's
// mount prefix.
func (h *handler) explainReasons(rs []drift.Reason) []reasonJSON {
	out := make([]reasonJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, reasonJSON{Code: r.Code, Message: errorText(r.Message), Change: strings.ReplaceAll(r.Change, "{prefix}", h.prefix)})
	}
	return out
}
