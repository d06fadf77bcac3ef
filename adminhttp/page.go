package adminhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// pageSize is how many rows each table of the page shows at a time.
const pageSize = 50

// pageURL returns the page's URL with the given query (which may be nil).
func (h *handler) pageURL(q url.Values) string {
	u := h.prefix + "/"
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}

// filters are the page's GET parameters, kept across form posts. The
// workspace filter matches the beginning of workspace ids.
type filters struct {
	Workspace string
	Plugin    string
	Kind      string // "" or one kind
	Source    string // "" or a canonical source
	Status    string // "" (queue and history) or one status
}

func (f filters) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"workspace": f.Workspace, "plugin": f.Plugin, "kind": f.Kind, "source": f.Source, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// listParams are the store's filters for f (statuses aside).
func (f filters) listParams() storage.ListUpdatesParams {
	p := storage.ListUpdatesParams{WorkspacePrefix: f.Workspace, PluginName: f.Plugin}
	if f.Kind != "" {
		p.Kinds = []tracking.UpdateKind{tracking.UpdateKind(f.Kind)}
	}
	if f.Source != "" {
		p.Source, _ = tracking.ParseSource(f.Source) // parsed by parseFilters
	}
	return p
}

// parseFilters validates the filter parameters with the API's rules.
func parseFilters(q query) (filters, *apiError) {
	var f filters
	var e *apiError
	if f.Workspace, e = q.workspacePrefix("workspace"); e != nil {
		return filters{}, e
	}
	if f.Plugin, e = q.plugin("plugin"); e != nil {
		return filters{}, e
	}
	kinds, e := q.kinds("kind")
	if e != nil {
		return filters{}, e
	}
	src, e := q.source("source")
	if e != nil {
		return filters{}, e
	}
	f.Source = src.String()
	statuses, e := q.statuses()
	if e != nil {
		return filters{}, e
	}
	switch len(kinds) {
	case 0:
	case 1:
		f.Kind = string(kinds[0])
	default:
		return filters{}, errBadRequest("the page shows one kind at a time: pick one in the filter")
	}
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
var pageParams = []string{"workspace", "plugin", "kind", "source", "status", "view", "qc", "hc", "op", "result", "id", "ids"}

type statusOption struct {
	Value, Label string
	Selected     bool
}

type pageView struct {
	Actor      string
	CSSURL     string
	PageURL    string
	SweepURL   string
	CanSweep   bool // a Sweeper is configured and the actor may sweep
	CanApply   bool
	CanDismiss bool
	Flash      *flash
	LastSweep  *sweepView
	Filter     filters
	Filtered   bool
	Statuses   []statusOption
	Kinds      []statusOption
	Summary    *summaryView
	Queue      *queueView
	History    *sectionView
	View       string // viewQueue, viewInstalls, viewUpstreams, viewHolds or viewExplain
	Tabs       []tabView
	Installs   *installsView
	Upstreams  *upstreamsView
	// The integrity views (pageintegrity.go), and the controls the actor
	// may use there.
	Holds       *holdsView
	Explain     *explainView
	CanRelease  bool
	CanRollback bool
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
	// TagMoved marks an integrity alarm (tag-moved, history-rewritten):
	// the confirmation box and the AlarmLabel badge.
	TagMoved             bool
	AlarmLabel           string
	Status               string
	Pending, Applying    bool
	DetectedAt, Detected string
	DecidedAt, Decided   string
	DecidedBy, Reason    string
	Attempts             int
	LastError            string
	RestartError         string
	ApplyURL, DismissURL string
	RestoreURL           string // for a dismissed entry
	Dismissed            bool
	FromURL, ToURL       string // the commits' pages, when the host has them
	CompareURL           string // the diff from → to, when the host has one
	Bump                 string // major, minor, patch, prerelease or ""
	Change               string // "alpha v1.0.0 → v1.1.0"
	ApplyLabel           string // "Apply alpha v1.1.0 to ws-a", for screen readers
	DismissLabel         string
	RestoreLabel         string
	LongError            bool // LastError is long enough to fold away
	// Verification is the entry's signature badge; Blocked marks a
	// pending entry that it blocks, whose Apply is "Apply unverified"
	// with a reason. Override is the reason recorded when it was applied
	// so.
	Verification         verificationView
	Blocked              bool
	Override             string
	ApplyUnverifiedLabel string
}

// The page's views (its tabs).
const (
	viewQueue     = "queue"
	viewInstalls  = "installs"
	viewUpstreams = "upstreams"
)

type tabView struct {
	Label, URL string
	Current    bool
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
	view := q.get("view")
	switch view {
	case "":
		view = viewQueue
	case viewQueue, viewInstalls, viewUpstreams, viewHolds, viewExplain:
	default:
		h.fail(w, r, errBadRequest("view must be queue (the default), installs, upstreams, holds or explain"))
		return
	}
	ctx, now := r.Context(), h.now()
	v := pageView{
		Actor: actorOf(ctx), CSSURL: h.cssURL, PageURL: h.pageURL(nil),
		SweepURL: h.prefix + "/ui/sweeps", CanSweep: h.sweeper != nil && h.may(r, OpSweep),
		CanApply: h.may(r, OpApply), CanDismiss: h.may(r, OpDismiss),
		Flash: h.outcomeFlash(ctx, done), Filter: f, Filtered: f != filters{}, View: view,
		CanRelease: h.may(r, OpHolds), CanRollback: h.may(r, OpRollback),
	}
	for _, t := range []struct{ view, label string }{{viewQueue, "Queue"}, {viewInstalls, "Installs"}, {viewUpstreams, "Upstream health"}, {viewHolds, "Holds"}} {
		tq := f.values()
		if t.view != viewQueue {
			tq.Set("view", t.view)
		}
		v.Tabs = append(v.Tabs, tabView{Label: t.label, URL: h.pageURL(tq), Current: t.view == view})
	}
	var err error
	if v.Summary, err = h.summary(ctx, now); err != nil {
		h.internal(w, r, "count the queue", err)
		return
	}
	if h.sweeper != nil {
		v.LastSweep = newSweepView(h.sweeper.LatestSweep(ctx), now)
	}
	switch view {
	case viewInstalls:
		if v.Installs, e = h.installsTab(ctx, q, f); e != nil {
			h.fail(w, r, e)
			return
		}
	case viewUpstreams:
		if v.Upstreams, err = h.upstreamsTab(ctx, f, now); err != nil {
			h.internal(w, r, "list upstreams", err)
			return
		}
	case viewHolds:
		if v.Holds, e = h.holdsTab(ctx, q, f, now); e != nil {
			h.fail(w, r, e)
			return
		}
	case viewExplain:
		if v.Explain, e = h.explainTab(ctx, f, now); e != nil {
			h.fail(w, r, e)
			return
		}
	default:
		if e := h.queueTab(r, q, f, now, &v); e != nil {
			h.fail(w, r, e)
			return
		}
	}
	h.renderHTML(w, r, http.StatusOK, h.page, v)
}

// queueTab fills the queue and the history.
func (h *handler) queueTab(r *http.Request, q query, f filters, now time.Time, v *pageView) *apiError {
	queueAfter, e := decodeUpdateCursor(q.get("qc"), false)
	if e != nil {
		return e
	}
	hcAt, hcID, e := decodeDecisionCursor(q.get("hc"))
	if e != nil {
		return e
	}
	for _, o := range []statusOption{{"", "Queue and history", false},
		{"pending", "Pending", false}, {"applying", "Applying", false}, {"applied", "Applied", false},
		{"dismissed", "Dismissed", false}, {"superseded", "Superseded", false}} {
		o.Selected = o.Value == f.Status
		v.Statuses = append(v.Statuses, o)
	}
	v.Kinds = append(v.Kinds, statusOption{"", "All kinds", f.Kind == ""})
	for _, k := range storage.Kinds() {
		v.Kinds = append(v.Kinds, statusOption{string(k), kindLabel(k), f.Kind == string(k)})
	}

	ctx := r.Context()
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
		if v.Queue, err = h.queueSection(ctx, f, open, queueAfter, now); err != nil {
			h.log.ErrorContext(ctx, "adminhttp: list the queue failed", "error", err)
			return errInternal
		}
	}
	if decided != nil {
		if v.History, err = h.history(ctx, f, decided, hcAt, hcID, now); err != nil {
			h.log.ErrorContext(ctx, "adminhttp: list the history failed", "error", err)
			return errInternal
		}
	}
	if f.Status != "" {
		title := statusTitle(tracking.UpdateStatus(f.Status))
		if v.Queue != nil {
			v.Queue.Title, v.Queue.Empty = title, "No "+strings.ToLower(title)+" updates."
		}
		if v.History != nil {
			v.History.Title, v.History.Empty = title, "No "+strings.ToLower(title)+" updates."
		}
	}
	return nil
}

func statusTitle(s tracking.UpdateStatus) string {
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// history reads one page of decided entries, newest decision first.
func (h *handler) history(ctx context.Context, f filters, statuses []tracking.UpdateStatus, afterAt time.Time, afterID int64, now time.Time) (*sectionView, error) {
	p := f.listParams()
	p.Statuses, p.ByDecision, p.AfterDecidedAt, p.AfterID, p.Limit = statuses, true, afterAt, afterID, pageSize+1
	us, err := h.store.ListUpdates(ctx, p)
	if err != nil {
		return nil, err
	}
	s := &sectionView{Title: "History", Empty: "No decided updates yet.", Note: "Newest decision first: who decided, when and why."}
	if len(us) > pageSize {
		us = us[:pageSize]
		q := f.values()
		last := us[pageSize-1]
		q.Set("hc", encodeDecisionCursor(last.DecidedAt, last.ID))
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
		Kind: string(u.Kind), KindLabel: kindLabel(u.Kind), TagMoved: u.Kind.Alarm(), AlarmLabel: alarmLabel(u.Kind),
		Status:  string(u.Status),
		Pending: u.Status == tracking.StatusPending, Applying: u.Status == tracking.StatusApplying,
		DetectedAt: exactTime(u.DetectedAt), Detected: age(now, u.DetectedAt),
		DecidedBy: u.DecidedBy, Reason: reasonText(u.Reason),
		Attempts: u.Attempts, LastError: errorText(u.LastError), RestartError: errorText(u.RestartError),
		ApplyURL:   fmt.Sprintf("%s/ui/plugin-updates/%d/apply", h.prefix, u.ID),
		DismissURL: fmt.Sprintf("%s/ui/plugin-updates/%d/dismiss", h.prefix, u.ID),
		RestoreURL: fmt.Sprintf("%s/ui/plugin-updates/%d/restore", h.prefix, u.ID),
		Dismissed:  u.Status == tracking.StatusDismissed,
	}
	rv.FromURL, rv.ToURL = h.links.commitURL(u.Source, u.FromSHA), h.links.commitURL(u.Source, u.ToSHA)
	rv.CompareURL = h.links.compareURL(u.Source, u.FromSHA, u.ToSHA)
	rv.Bump = bump(u)
	to := versionOrSHA(u.ToVersion, u.ToSHA)
	rv.Change = u.PluginName + " " + versionOrSHA(u.FromVersion, u.FromSHA) + " → " + to
	rv.ApplyLabel = "Apply " + u.PluginName + " " + to + " to " + u.WorkspaceID
	rv.DismissLabel = "Dismiss " + u.PluginName + " " + to + " for " + u.WorkspaceID
	rv.RestoreLabel = "Restore " + u.PluginName + " " + to + " for " + u.WorkspaceID + " to pending"
	rv.LongError = len(rv.LastError) > longError
	rv.Verification, rv.Override = newVerificationView(u.Verification), u.Override
	rv.Blocked = rv.Pending && rv.Verification.Blocks
	rv.ApplyUnverifiedLabel = "Apply " + u.PluginName + " " + to + " to " + u.WorkspaceID + " although its signature is not verified"
	if !u.DecidedAt.IsZero() {
		rv.DecidedAt, rv.Decided = exactTime(u.DecidedAt), age(now, u.DecidedAt)
	}
	if rv.DecidedBy == "" && u.Status == tracking.StatusSuperseded {
		rv.DecidedBy = "plugindrift"
	}
	return rv
}

// longError is the length from which an error is folded into <details>.
const longError = 120

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
	case tracking.KindHistoryRewritten:
		return "History rewritten"
	case tracking.KindRollback:
		return "Rollback"
	}
	return string(k)
}

// alarmLabel is the badge of an integrity alarm, "" for other kinds.
func alarmLabel(k tracking.UpdateKind) string {
	switch k {
	case tracking.KindTagMoved:
		return "tag moved"
	case tracking.KindHistoryRewritten:
		return "history rewritten"
	}
	return ""
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
