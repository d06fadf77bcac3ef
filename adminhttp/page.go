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
var pageParams = []string{"workspace", "status", "qc", "hc", "op", "result", "id", "ids"}

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
	Queue      *sectionView
	History    *sectionView
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
	RestoreURL             string // for a dismissed entry
	Dismissed              bool
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
		SweepURL: h.prefix + "/ui/sweeps", CanSweep: h.sweeper != nil && h.may(r, OpSweep),
		CanApply: h.may(r, OpApply), CanDismiss: h.may(r, OpDismiss),
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
		RestoreURL: fmt.Sprintf("%s/ui/plugin-updates/%d/restore", h.prefix, u.ID),
		Dismissed:  u.Status == tracking.StatusDismissed,
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
