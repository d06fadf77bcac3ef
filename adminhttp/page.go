package adminhttp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

//go:embed templates/*.html static/admin.css
var assets embed.FS

// pageSize is how many rows each table of the page shows at a time.
const pageSize = 50

// contentSecurityPolicy allows the page nothing but its own stylesheet and
// forms posting back to itself: no script runs, even injected.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *handler) loadAssets() error {
	var err error
	if h.css, err = assets.ReadFile("static/admin.css"); err != nil {
		return fmt.Errorf("adminhttp: read embedded stylesheet: %w", err)
	}
	if h.page, err = template.ParseFS(assets, "templates/page.html"); err != nil {
		return fmt.Errorf("adminhttp: parse page template: %w", err)
	}
	if h.errors, err = template.ParseFS(assets, "templates/error.html"); err != nil {
		return fmt.Errorf("adminhttp: parse error template: %w", err)
	}
	sum := sha256.Sum256(h.css)
	h.cssURL = h.prefix + "/static/admin.css?v=" + hex.EncodeToString(sum[:6])
	return nil
}

// serveCSS serves the embedded stylesheet. Its URL carries a hash of the
// content, so it may be cached for long.
func (h *handler) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(h.css)
}

// pageURL returns the page's URL with the given query (which may be nil).
func (h *handler) pageURL(q url.Values) string {
	u := h.prefix + "/"
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

// filters are the page's GET parameters, kept across form posts.
type filters struct {
	Workspace string
	Status    string // "" (queue and history) or one status
}

func (f filters) values() url.Values {
	q := url.Values{}
	if f.Workspace != "" {
		q.Set("workspace", f.Workspace)
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	return q
}

// parseFilters validates the filter parameters with the API's rules.
func parseFilters(q query) (filters, *apiError) {
	ws, e := q.workspace("workspace")
	if e != nil {
		return filters{}, e
	}
	statuses, e := q.statuses()
	if e != nil {
		return filters{}, e
	}
	f := filters{Workspace: ws}
	switch len(statuses) {
	case 0:
	case 1:
		f.Status = string(statuses[0])
	default:
		return filters{}, errBadRequest("the page shows one status at a time: pick one in the filter")
	}
	return f, nil
}

// pageParams are the query parameters of the page: the filters, the two
// tables' cursors and the outcome of a form post.
var pageParams = []string{"workspace", "status", "qc", "hc", "op", "result", "id"}

type statusOption struct {
	Value, Label string
	Selected     bool
}

type pageView struct {
	Actor     string
	CSSURL    string
	PageURL   string
	SweepURL  string
	CanSweep  bool
	Flash     *flash
	LastSweep *sweepView
	Filter    filters
	Filtered  bool
	Statuses  []statusOption
	Queue     *sectionView
	History   *sectionView
}

type sectionView struct {
	Title   string
	Note    string
	Empty   string
	Rows    []rowView
	NextURL string
}

type rowView struct {
	ID                     int64
	Workspace, Plugin      string
	Source, Ref            string
	FromSHA, ToSHA         string
	FromShort, ToShort     string
	FromVersion, ToVersion string
	Kind, KindLabel        string
	TagMoved               bool
	Status                 string
	Pending, Applying      bool
	DetectedAt, Detected   string
	DecidedAt, Decided     string
	DecidedBy, Reason      string
	Attempts               int
	LastError              string
	RestartError           string
	ApplyURL, DismissURL   string
}

// showPage serves GET {prefix}/. Its query is read by the API's parser,
// with the API's rules for each value.
func (h *handler) showPage(w http.ResponseWriter, r *http.Request) {
	q, e := parseQuery(r, pageParams)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	f, e := parseFilters(q)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	done, e := parseOutcome(q)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	queueAfter, e := decodeUpdateCursor(q.get("qc"), false)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	historyAfter, e := decodeUpdateCursor(q.get("hc"), true)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	now := h.now()
	v := pageView{
		Actor: actorOf(r.Context()), CSSURL: h.cssURL, PageURL: h.pageURL(nil),
		SweepURL: h.prefix + "/ui/sweeps", CanSweep: h.sweeper != nil,
		Flash: h.outcomeFlash(r.Context(), done), Filter: f, Filtered: f != filters{},
	}
	if h.sweeper != nil {
		v.LastSweep = newSweepView(h.sweeper.Latest(), now)
	}
	for _, o := range []statusOption{{"", "Queue and history", false},
		{"pending", "Pending", false}, {"applying", "Applying", false}, {"applied", "Applied", false},
		{"dismissed", "Dismissed", false}, {"superseded", "Superseded", false}} {
		o.Selected = o.Value == f.Status
		v.Statuses = append(v.Statuses, o)
	}

	var err error
	open := []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying}
	decided := []tracking.UpdateStatus{tracking.StatusApplied, tracking.StatusDismissed, tracking.StatusSuperseded}
	if st := tracking.UpdateStatus(f.Status); st != "" {
		open, decided = nil, nil
		if st.Open() {
			open = []tracking.UpdateStatus{st}
		} else {
			decided = []tracking.UpdateStatus{st}
		}
	}
	if open != nil {
		v.Queue, err = h.section(r.Context(), f, open, false, queueAfter, now)
		if err != nil {
			h.internal(w, r, "list the queue", err)
			return
		}
		v.Queue.Title, v.Queue.Empty = "Pending updates", "Nothing is waiting for a decision."
		if f.Status == "" {
			v.Queue.Note = "Oldest first. Apply installs exactly the commit shown."
		}
	}
	if decided != nil {
		v.History, err = h.section(r.Context(), f, decided, true, historyAfter, now)
		if err != nil {
			h.internal(w, r, "list the history", err)
			return
		}
		v.History.Title, v.History.Empty = "History", "No decided updates yet."
		v.History.Note = "Newest first."
	}
	if f.Status != "" {
		title := statusTitle(tracking.UpdateStatus(f.Status))
		for _, s := range []*sectionView{v.Queue, v.History} {
			if s != nil {
				s.Title, s.Empty = title, "No "+strings.ToLower(title)+" updates."
			}
		}
	}
	h.renderHTML(w, r, http.StatusOK, h.page, v)
}

func statusTitle(s tracking.UpdateStatus) string {
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// section reads one page of entries and prepares its rows.
func (h *handler) section(ctx context.Context, f filters, statuses []tracking.UpdateStatus, newest bool, after int64, now time.Time) (*sectionView, error) {
	us, err := h.store.ListUpdates(ctx, storage.ListUpdatesParams{
		Statuses: statuses, WorkspaceID: f.Workspace, AfterID: after, Newest: newest, Limit: pageSize + 1,
	})
	if err != nil {
		return nil, err
	}
	s := &sectionView{}
	if len(us) > pageSize {
		us = us[:pageSize]
		q := f.values()
		key := "qc"
		if newest {
			key = "hc"
		}
		q.Set(key, encodeUpdateCursor(newest, us[pageSize-1].ID))
		s.NextURL = h.pageURL(q)
	}
	for _, u := range us {
		s.Rows = append(s.Rows, h.row(u, now))
	}
	return s, nil
}

func (h *handler) row(u tracking.Update, now time.Time) rowView {
	rv := rowView{
		ID: u.ID, Workspace: u.WorkspaceID, Plugin: u.PluginName,
		Source: u.Source.String(), Ref: u.Ref.String(),
		FromSHA: u.FromSHA, ToSHA: u.ToSHA, FromShort: shortSHA(u.FromSHA), ToShort: shortSHA(u.ToSHA),
		FromVersion: u.FromVersion, ToVersion: u.ToVersion,
		Kind: string(u.Kind), KindLabel: kindLabel(u.Kind), TagMoved: u.Kind == tracking.KindTagMoved,
		Status:  string(u.Status),
		Pending: u.Status == tracking.StatusPending, Applying: u.Status == tracking.StatusApplying,
		DetectedAt: exactTime(u.DetectedAt), Detected: age(now, u.DetectedAt),
		DecidedBy: u.DecidedBy, Reason: reasonText(u.Reason),
		Attempts: u.Attempts, LastError: errorText(u.LastError), RestartError: errorText(u.RestartError),
		ApplyURL:   fmt.Sprintf("%s/ui/plugin-updates/%d/apply", h.prefix, u.ID),
		DismissURL: fmt.Sprintf("%s/ui/plugin-updates/%d/dismiss", h.prefix, u.ID),
	}
	if !u.DecidedAt.IsZero() {
		rv.DecidedAt, rv.Decided = exactTime(u.DecidedAt), age(now, u.DecidedAt)
	}
	if rv.DecidedBy == "" && u.Status == tracking.StatusSuperseded {
		rv.DecidedBy = "plugindrift"
	}
	return rv
}

// shortSHA abbreviates a commit id to 12 characters, as git does for
// large repositories.
func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	if sha == "" {
		return "—"
	}
	return sha
}

func kindLabel(k tracking.UpdateKind) string {
	switch k {
	case tracking.KindNewVersion:
		return "New version"
	case tracking.KindNewCommit:
		return "New commit"
	case tracking.KindTagMoved:
		return "Tag moved"
	}
	return string(k)
}

// reasonText explains the reasons plugindrift itself records; an
// operator's reason is shown as written.
func reasonText(r string) string {
	switch r {
	case tracking.ReasonUpToDate:
		return "the install already has this commit"
	case tracking.ReasonNewerUpstream:
		return "upstream moved again; a newer update replaced it"
	case tracking.ReasonUninstalled:
		return "the plugin was uninstalled"
	case tracking.ReasonReinstalled:
		return "the plugin was reinstalled at another commit"
	}
	return r
}

func exactTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// age says how long ago t was, for a human: "just now", "5m ago", "3h ago",
// "4d ago", then the date.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
	return t.UTC().Format("2 Jan 2006")
}

// readForm caps, reads and parses an urlencoded form body.
func (h *handler) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *apiError) {
	body, e := readBody(w, r, h.maxBody)
	if e != nil {
		return nil, e
	}
	if len(body) == 0 {
		return url.Values{}, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
			message: "submit the form from the admin page (application/x-www-form-urlencoded)"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errBadRequest("the form data is malformed")
	}
	return form, nil
}

// back returns where a form post redirects to: the page with the filters
// the form was posted from. Invalid filters are dropped; the target is
// always built here, never taken from the request.
func (h *handler) back(form url.Values, done outcome) string {
	f, e := parseFilters(query{values: form})
	if e != nil {
		f = filters{}
	}
	q := f.values()
	done.set(q)
	return h.pageURL(q)
}

// formDecision reads what both decision forms post: the entry's id and
// the form. On failure it has answered, and ok is false.
func (h *handler) formDecision(w http.ResponseWriter, r *http.Request) (id int64, form url.Values, ok bool) {
	id, e := pathID(r)
	if e == nil {
		form, e = h.readForm(w, r)
	}
	if e != nil {
		h.fail(w, r, e)
		return 0, nil, false
	}
	return id, form, true
}

// formApply serves POST {prefix}/ui/plugin-updates/{id}/apply.
func (h *handler) formApply(w http.ResponseWriter, r *http.Request) {
	id, form, ok := h.formDecision(w, r)
	if !ok {
		return
	}
	ctx, actor := r.Context(), actorOf(r.Context())
	done := outcome{Op: opApply, ID: id, Result: resultOK}
	// A moved tag is applied only with the confirmation box ticked, so the
	// entry is read first unless the box was.
	if form.Get("confirm") != "tag-moved" {
		cur, err := h.store.GetUpdate(ctx, id)
		if err != nil {
			done.Result = h.decisionError(ctx, opApply, id, actor, tracking.Update{}, err).code
			h.redirect(w, r, form, done)
			return
		}
		if cur.Kind == tracking.KindTagMoved && cur.Status == tracking.StatusPending {
			done.Result = resultConfirmTagMoved
			h.redirect(w, r, form, done)
			return
		}
	}
	if u, err := h.updater.Apply(ctx, id, actor); err != nil {
		done.Result = h.decisionError(ctx, opApply, id, actor, u, err).code
	}
	h.redirect(w, r, form, done)
}

// formDismiss serves POST {prefix}/ui/plugin-updates/{id}/dismiss. The
// reason is held to the Updater's rules by the Updater itself.
func (h *handler) formDismiss(w http.ResponseWriter, r *http.Request) {
	id, form, ok := h.formDecision(w, r)
	if !ok {
		return
	}
	ctx, actor := r.Context(), actorOf(r.Context())
	done := outcome{Op: opDismiss, ID: id, Result: resultOK}
	if u, err := h.updater.Dismiss(ctx, id, actor, strings.TrimSpace(form.Get("reason"))); err != nil {
		done.Result = h.decisionError(ctx, opDismiss, id, actor, u, err).code
	}
	h.redirect(w, r, form, done)
}

// formSweep serves POST {prefix}/ui/sweeps: it triggers a sweep, waits up
// to SweepWait for it, and goes back to the page, which shows how the
// latest sweep went (still running, or its report).
func (h *handler) formSweep(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	form, e := h.readForm(w, r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.awaitSweep(r)
	h.redirect(w, r, form, outcome{Op: opSweep})
}

func versionOrSHA(version, sha string) string {
	if version != "" {
		return version
	}
	return shortSHA(sha)
}

// redirect ends a form post with 303 to the page, its filters kept and
// the outcome in the query (POST/redirect/GET).
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, form url.Values, done outcome) {
	http.Redirect(w, r, h.back(form, done), http.StatusSeeOther)
}

// sweepView is the page's panel about the latest sweep.
type sweepView struct {
	State                string // sweepNone, sweepRunning, sweepDone or sweepFailed
	StartedAt, Started   string
	FinishedAt, Finished string
	Took                 string
	Skipped              bool
	Error                string
	Report               *reportView
}

// reportView is the part of a sweep report the page shows: the report as
// the API sends it, with at most maxPageErrors of its errors.
type reportView struct {
	reportJSON
	MoreErrors int // failing upstreams not listed
}

// maxPageErrors is how many failing upstreams of a sweep the page lists.
const maxPageErrors = 5

func newSweepView(st drift.SweepStatus, now time.Time) *sweepView {
	v := &sweepView{State: sweepState(st), StartedAt: exactTime(st.StartedAt), Started: age(now, st.StartedAt)}
	if v.State != sweepDone && v.State != sweepFailed {
		return v
	}
	rv := &reportView{reportJSON: toReportJSON(st.Report)}
	v.FinishedAt, v.Finished = exactTime(st.FinishedAt), age(now, st.FinishedAt)
	v.Took = took(rv.Duration)
	v.Skipped, v.Error = rv.Skipped, sweepFailure(st.Err)
	listed := rv.Errors[:min(len(rv.Errors), maxPageErrors)]
	for i := range listed {
		listed[i].Error = redact.Truncate(listed[i].Error, 300)
	}
	rv.MoreErrors = max(rv.Failed, len(rv.Errors)) - len(listed)
	rv.Errors = listed
	v.Report = rv
	return v
}

// took says how long a sweep took, for a human.
func took(d time.Duration) string {
	if d < time.Millisecond {
		return "under 1ms"
	}
	return d.Round(time.Millisecond).String()
}

type errorView struct {
	CSSURL  string
	PageURL string
	Status  int
	Title   string
	Message string
}

// renderError shows e as a small HTML page.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, e *apiError) {
	h.renderHTML(w, r, e.status, h.errors, errorView{
		CSSURL: h.cssURL, PageURL: h.pageURL(nil), Status: e.status, Title: http.StatusText(e.status), Message: e.message,
	})
}

// renderHTML executes t into a buffer first, so a template failure is a
// clean 500 rather than half a page.
func (h *handler) renderHTML(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		h.log.ErrorContext(r.Context(), "adminhttp: render page", "path", r.URL.Path, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Internal error</title><p>Internal error; the server log has the details.</p>\n")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
