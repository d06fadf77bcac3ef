package adminhttp

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// installsView is the page's installs tab.
type installsView struct {
	Rows    []installRow
	NextURL string
}

type installRow struct {
	Workspace, Plugin, Source, Ref string
	Tracked                        bool
	SHA, Short, SHAURL, Version    string
	InstalledAt, Installed         string
	ExplainURL                     string // why it is or is not updating
}

// installsTab reads a page of installs the workspace and plugin filters
// select.
func (h *handler) installsTab(ctx context.Context, q query, f filters) (*installsView, *apiError) {
	aw, ap, e := decodeInstallCursor(q.get("qc"))
	if e != nil {
		return nil, e
	}
	ins, err := h.store.ListInstalls(ctx, storage.ListInstallsParams{
		WorkspacePrefix: f.Workspace, PluginName: f.Plugin, AfterWorkspaceID: aw, AfterPluginName: ap, Limit: pageSize + 1,
	})
	if err != nil {
		h.log.ErrorContext(ctx, "adminhttp: list installs failed", "error", err)
		return nil, errInternal
	}
	v := &installsView{}
	if len(ins) > pageSize {
		ins = ins[:pageSize]
		nq := f.values()
		nq.Set("view", viewInstalls)
		nq.Set("qc", encodeInstallCursor(ins[pageSize-1]))
		v.NextURL = h.pageURL(nq)
	}
	now := h.now()
	for _, in := range ins {
		row := h.newInstallRow(in, now)
		row.ExplainURL = h.explainURL(in.WorkspaceID, in.PluginName)
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

// newInstallRow is what the installs tab and the explanation show of an
// install (all but ExplainURL).
func (h *handler) newInstallRow(in tracking.Install, now time.Time) installRow {
	return installRow{
		Workspace: in.WorkspaceID, Plugin: in.PluginName, Source: in.Source.String(), Ref: in.Ref.String(),
		Tracked: in.Tracked(), SHA: in.InstalledSHA, Short: shortSHA(in.InstalledSHA),
		SHAURL: h.links.commitURL(in.Source, in.InstalledSHA), Version: in.InstalledVersion,
		InstalledAt: exactTime(in.InstalledAt), Installed: age(now, in.InstalledAt),
	}
}

// upstreamsView is the page's upstream health tab: failing upstreams
// first.
type upstreamsView struct {
	Rows    []upstreamRow
	Failing int
	// Hidden counts the upstreams not listed (over maxHealthRows) when
	// that count is known without reading them all.
	Hidden int
	// Truncated says that more upstreams exist than are listed, and
	// how many is not known.
	Truncated bool
	CheckURL  string // the "Check now" form, when a Sweeper is configured
}

type upstreamRow struct {
	Source, Ref         string
	LastSHA, Short, URL string
	Version             string
	CheckedAt, Checked  string
	PushedAt, Pushed    string // the last push webhook naming it; "" when none
	Failing             bool
	Failures            int
	RetryAt, Retry      string // "" when not backing off
	LastError           string
	LongError           bool
	CheckLabel          string
}

// maxHealthRows caps the rows of the health tab.
const maxHealthRows = 200

// byHealth orders upstreams failing first (most failures first), then by
// source and ref.
func byHealth(a, b tracking.Upstream) int {
	return cmp.Or(cmp.Compare(b.ConsecutiveFailures, a.ConsecutiveFailures),
		strings.Compare(a.Key.Source.String(), b.Key.Source.String()), strings.Compare(a.Key.Ref.String(), b.Key.Ref.String()))
}

// upstreamsTab reads the upstreams' health, failing first (most failures
// first), then by source and ref. It reads what it shows plus a page:
// the failing upstreams (the store's Failing list), then healthy ones
// from the ordinary listing to fill maxHealthRows; with more failing
// upstreams than that, the first ones by ID are shown. The source filter
// reads only that source's repository (see sourceUpstreams).
func (h *handler) upstreamsTab(ctx context.Context, f filters, now time.Time) (*upstreamsView, error) {
	v := &upstreamsView{}
	if h.sweeper != nil {
		v.CheckURL = h.prefix + "/ui/upstreams/check"
	}
	var (
		ups []tracking.Upstream
		err error
	)
	if f.Source != "" {
		ups, err = h.sourceUpstreams(ctx, f.Source, v)
	} else {
		ups, err = h.healthUpstreams(ctx, v)
	}
	if err != nil {
		return nil, err
	}
	for _, up := range ups {
		row := h.resolutionRow(up.Key.Source, up, now)
		row.Source, row.Ref = up.Key.Source.String(), up.Key.Ref.String()
		row.CheckLabel = "Check " + up.Key.String() + " now"
		if !up.LastPushAt.IsZero() {
			row.PushedAt, row.Pushed = exactTime(up.LastPushAt), age(now, up.LastPushAt)
		}
		if h.sweeper != nil {
			if at := h.sweeper.RetryAt(up); at.After(now) {
				row.RetryAt, row.Retry = exactTime(at), until(now, at)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

// resolutionRow is the last resolution of up, as the health tab and the
// explanation show it: its commit (linked on src's host), when it was
// checked, and its failures.
func (h *handler) resolutionRow(src tracking.Source, up tracking.Upstream, now time.Time) upstreamRow {
	row := upstreamRow{
		LastSHA: up.LastSHA, Short: shortSHA(up.LastSHA), URL: h.links.commitURL(src, up.LastSHA),
		Version: up.LastVersion, CheckedAt: exactTime(up.LastCheckedAt), Checked: age(now, up.LastCheckedAt),
		Failing: up.ConsecutiveFailures > 0, Failures: up.ConsecutiveFailures, LastError: errorText(up.LastError),
	}
	row.LongError = len(row.LastError) > longError
	return row
}

// healthUpstreams reads the unfiltered tab's rows: every failing
// upstream up to maxHealthRows, sorted byHealth, then the first healthy
// ones by ID, sorted by source and ref. Two reads of at most
// maxHealthRows+1 rows; the extra row tells that more exist. v.Failing
// is the store's count.
func (h *handler) healthUpstreams(ctx context.Context, v *upstreamsView) ([]tracking.Upstream, error) {
	var err error
	if v.Failing, err = h.store.CountFailingUpstreams(ctx); err != nil {
		return nil, err
	}
	var failing []tracking.Upstream
	if v.Failing > 0 {
		if failing, err = h.store.ListUpstreams(ctx, storage.ListUpstreamsParams{Failing: true, Limit: maxHealthRows + 1}); err != nil {
			return nil, err
		}
	}
	if len(failing) > maxHealthRows {
		failing = failing[:maxHealthRows]
		v.Truncated = true
	}
	slices.SortFunc(failing, byHealth)
	room := maxHealthRows - len(failing)
	// The failing upstreams listed take at most len(failing) of the
	// first maxHealthRows+1 rows by ID, so one read fills the room and
	// tells whether more remain (even with no room left). Rows are skipped by ID, not by failure count, so an
	// upstream that started failing between the two reads is still shown.
	page, err := h.store.ListUpstreams(ctx, storage.ListUpstreamsParams{Limit: maxHealthRows + 1})
	if err != nil {
		return nil, err
	}
	shown := make(map[int64]bool, len(failing))
	for _, up := range failing {
		shown[up.ID] = true
	}
	var rest []tracking.Upstream
	for _, up := range page {
		if !shown[up.ID] {
			rest = append(rest, up)
		}
	}
	if len(rest) > room || len(page) > maxHealthRows {
		v.Truncated = true
	}
	rest = rest[:min(len(rest), room)]
	slices.SortFunc(rest, byHealth)
	return append(failing, rest...), nil
}

// sourceUpstreams reads the upstreams of one source through the store's
// repository index (a source's repository has few upstreams: one per
// ref tracked), sorted byHealth, at most maxHealthScan of the
// repository's read. v.Failing counts the source's failing upstreams.
func (h *handler) sourceUpstreams(ctx context.Context, source string, v *upstreamsView) ([]tracking.Upstream, error) {
	src, err := tracking.ParseSource(source) // parsed by parseFilters
	if err != nil || !src.Repository().IsValid() {
		return nil, nil // a local source has no upstream
	}
	var ups []tracking.Upstream
	p := storage.ListRepositoryUpstreamsParams{Repository: src.Repository(), Limit: storage.MaxLimit}
	for seen := 0; ; {
		page, err := h.store.ListRepositoryUpstreams(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, up := range page {
			if up.Key.Source == src {
				ups = append(ups, up)
			}
		}
		if seen += len(page); len(page) < p.Limit {
			break
		}
		if seen >= maxHealthScan {
			v.Truncated = true
			break
		}
		p.AfterID = page[len(page)-1].ID
	}
	for _, up := range ups {
		if up.ConsecutiveFailures > 0 {
			v.Failing++
		}
	}
	slices.SortFunc(ups, byHealth)
	if len(ups) > maxHealthRows {
		if !v.Truncated {
			v.Hidden = len(ups) - maxHealthRows
		}
		ups = ups[:maxHealthRows]
	}
	return ups, nil
}

// checkShape is the body of POST {prefix}/upstreams/check.
const checkShape = `"source": "github://owner/repo", "ref": "tag:latest"`

// parseUpstreamKey reads an upstream key from its two strings.
func parseUpstreamKey(source, ref string) (tracking.UpstreamKey, *apiError) {
	src, err := tracking.ParseSource(source)
	if err != nil {
		return tracking.UpstreamKey{}, errBadRequest("source is not a source: write it as the upstream list shows it, like github://owner/repo")
	}
	r, err := tracking.ParseRef(ref)
	if err != nil {
		return tracking.UpstreamKey{}, errBadRequest("ref is not a ref: write it as the upstream list shows it, like tag:latest or branch:main")
	}
	key := tracking.UpstreamKey{Source: src, Ref: r}
	if !key.Tracked() {
		return tracking.UpstreamKey{}, errBadRequest("that source and ref name no tracked upstream: only git and github sources at a moving ref are checked")
	}
	return key, nil
}

// check checks one upstream now, overriding its backoff, and answers 404
// when the store does not know it.
func (h *handler) check(r *http.Request, key tracking.UpstreamKey) (reportJSON, *apiError) {
	if _, err := h.store.GetUpstream(r.Context(), key); err != nil {
		if errors.Is(err, tracking.ErrNotFound) {
			return reportJSON{}, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "no install tracks that upstream"}
		}
		h.log.ErrorContext(r.Context(), "adminhttp: read upstream failed", "error", err)
		return reportJSON{}, errInternal
	}
	h.log.InfoContext(r.Context(), "adminhttp: upstream check requested", "actor", actorOf(r.Context()), "upstream", key.String())
	rep, err := h.sweeper.Check(r.Context(), key)
	if err != nil {
		h.log.ErrorContext(r.Context(), "adminhttp: check failed", "upstream", key.String(), "error", err)
		return reportJSON{}, errInternal
	}
	return toReportJSON(rep), nil
}

// checkUpstream serves POST {prefix}/upstreams/check: the report of
// checking that upstream now.
func (h *handler) checkUpstream(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	var source, ref string
	if e := h.readJSON(w, r, checkShape, map[string]any{"source": &source, "ref": &ref}); e != nil {
		h.fail(w, r, e)
		return
	}
	key, e := parseUpstreamKey(source, ref)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	rep, e := h.check(r, key)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.writeJSON(w, r, http.StatusOK, reportBody{rep})
}

// formCheck serves POST {prefix}/ui/upstreams/check, the health tab's
// "Check now": it checks the upstream and goes back to the tab, which
// shows the upstream's new state.
func (h *handler) formCheck(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	form, e := h.readForm(w, r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	key, e := parseUpstreamKey(form.Get("source"), form.Get("ref"))
	if e == nil {
		_, e = h.check(r, key)
	}
	if e != nil {
		h.fail(w, r, e)
		return
	}
	f, fe := parseFilters(query{values: form})
	if fe != nil {
		f = filters{}
	}
	q := f.values()
	q.Set("view", viewUpstreams)
	http.Redirect(w, r, h.pageURL(q), http.StatusSeeOther)
}
