package adminhttp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// The triage view of the queue: a summary bar, integrity alarms pinned
// first, then the other open entries grouped by change, one group per
// (upstream, from → to) listing the workspaces it affects.

// summaryView is the bar at the top of the page. Its counts are of the
// whole queue, whatever the filters.
type summaryView struct {
	Pending   []kindCount
	Applying  int
	Alarms    int
	Failing   int
	LastSweep string // "" when this process has not swept
	LastAt    string
	NextSweep string // "" without a running schedule
	NextAt    string
}

type kindCount struct {
	Kind, Label string
	Count       int
}

// maxHealthScan caps how many upstreams of one repository the health
// tab's source filter reads: ten pages of the store's largest.
const maxHealthScan = 10 * storage.MaxLimit

// summary reads the counts of the summary bar.
func (h *handler) summary(ctx context.Context, now time.Time) (*summaryView, error) {
	counts, err := h.store.CountOpenUpdates(ctx)
	if err != nil {
		return nil, err
	}
	v := &summaryView{}
	for _, k := range storage.Kinds() {
		if k == tracking.KindRollback {
			continue // a rollback is claimed as it is queued: never pending
		}
		kc := kindCount{Kind: string(k), Label: kindLabel(k)}
		for _, c := range counts {
			if c.Kind == k && c.Status == tracking.StatusPending {
				kc.Count += c.Count
			}
		}
		v.Pending = append(v.Pending, kc)
	}
	for _, c := range counts {
		if c.Status == tracking.StatusApplying {
			v.Applying += c.Count
		}
		if c.Kind.Alarm() {
			v.Alarms += c.Count
		}
	}
	if v.Failing, err = h.store.CountFailingUpstreams(ctx); err != nil {
		return nil, err
	}
	if h.sweeper != nil {
		st := h.sweeper.LatestSweep(ctx)
		if !st.FinishedAt.IsZero() {
			v.LastAt, v.LastSweep = exactTime(st.FinishedAt), age(now, st.FinishedAt)
		} else if st.Running {
			v.LastAt, v.LastSweep = exactTime(st.StartedAt), "running since "+age(now, st.StartedAt)
		}
		if next := h.sweeper.Next(); !next.IsZero() {
			v.NextAt, v.NextSweep = exactTime(next), until(now, next)
		}
	}
	return v, nil
}

// until says how long until t, for a human: "in 5m", "in 3h".
func until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < time.Minute:
		return "in under a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh", int(d/time.Hour))
	}
	return fmt.Sprintf("in %dd", int(d/(24*time.Hour)))
}

// groupView is one change (upstream, from → to) and the open entries it
// affects, one per workspace.
type groupView struct {
	Plugin                 string // of the first entry; entries may differ
	Source, Ref            string
	FromSHA, ToSHA         string
	FromShort, ToShort     string
	FromVersion, ToVersion string
	FromURL, ToURL         string
	CompareURL             string
	Kind, KindLabel, Bump  string
	Change                 string // "alpha v1.0.0 → v1.1.0", for labels
	Rows                   []rowView
	PendingIDs             []int64 // the entries Dismiss all acts on
	// ApplyIDs are the pending entries Apply all acts on: those whose
	// verification does not block them (each of those needs its own
	// reason).
	ApplyIDs []int64
}

type groupKey struct {
	source, ref, from, to string
}

// groupRows groups rows by change, in the order each change first
// appears.
func groupRows(us []tracking.Update, rows []rowView) []*groupView {
	var out []*groupView
	index := map[groupKey]*groupView{}
	for i, u := range us {
		k := groupKey{u.Source.String(), u.Ref.String(), u.FromSHA, u.ToSHA}
		g := index[k]
		if g == nil {
			r := rows[i]
			g = &groupView{
				Plugin: r.Plugin, Source: r.Source, Ref: r.Ref,
				FromSHA: r.FromSHA, ToSHA: r.ToSHA, FromShort: r.FromShort, ToShort: r.ToShort,
				FromVersion: r.FromVersion, ToVersion: r.ToVersion, FromURL: r.FromURL, ToURL: r.ToURL,
				CompareURL: r.CompareURL, Kind: r.Kind, KindLabel: r.KindLabel, Bump: r.Bump, Change: r.Change,
			}
			index[k] = g
			out = append(out, g)
		}
		g.Rows = append(g.Rows, rows[i])
		if rows[i].Pending {
			g.PendingIDs = append(g.PendingIDs, rows[i].ID)
			if !rows[i].Blocked {
				g.ApplyIDs = append(g.ApplyIDs, rows[i].ID)
			}
		}
	}
	return out
}

// queueView is the open part of the page: alarms, then groups.
type queueView struct {
	Title, Note, Empty string
	Alarms             []rowView
	MoreAlarms         string // a link to the next alarms, when there are more
	Groups             []*groupView
	Rows               int // entries shown, alarms included
	NextURL            string
	BulkApplyURL       string
	BulkDismissURL     string
}

// queue reads the open entries the filters select: the alarms (newest
// first, up to a page) and a page of the others, oldest first, grouped.
func (h *handler) queue(ctx context.Context, f filters, statuses []tracking.UpdateStatus, after int64, now time.Time) (*queueView, error) {
	v := &queueView{BulkApplyURL: h.prefix + "/ui/bulk/apply", BulkDismissURL: h.prefix + "/ui/bulk/dismiss"}
	base := f.listParams()
	base.Statuses = statuses
	var alarmKinds, otherKinds []tracking.UpdateKind
	for _, k := range storage.Kinds() {
		if len(base.Kinds) > 0 && !slices.Contains(base.Kinds, k) {
			continue
		}
		if k.Alarm() {
			alarmKinds = append(alarmKinds, k)
		} else {
			otherKinds = append(otherKinds, k)
		}
	}
	if len(alarmKinds) > 0 && after == 0 {
		p := base
		p.Kinds, p.Newest, p.Limit = alarmKinds, true, pageSize+1
		us, err := h.store.ListUpdates(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(us) > pageSize {
			us = us[:pageSize]
			v.MoreAlarms = h.prefix + "/plugin-updates?status=pending&kind=" + alarmKindsFilter + "&order=newest"
		}
		for _, u := range us {
			v.Alarms = append(v.Alarms, h.row(u, now))
		}
	}
	if len(otherKinds) > 0 {
		p := base
		p.Kinds, p.AfterID, p.Limit = otherKinds, after, pageSize+1
		us, err := h.store.ListUpdates(ctx, p)
		if err != nil {
			return nil, err
		}
		if len(us) > pageSize {
			us = us[:pageSize]
			q := f.values()
			q.Set("qc", encodeUpdateCursor(false, us[pageSize-1].ID))
			v.NextURL = h.pageURL(q)
		}
		rows := make([]rowView, len(us))
		for i, u := range us {
			rows[i] = h.row(u, now)
		}
		v.Groups = groupRows(us, rows)
		v.Rows = len(us)
	}
	v.Rows += len(v.Alarms)
	return v, nil
}

// queueSection is the queue as the page shows it, with its title.
func (h *handler) queueSection(ctx context.Context, f filters, open []tracking.UpdateStatus, after int64, now time.Time) (*queueView, error) {
	q, err := h.queue(ctx, f, open, after, now)
	if err != nil {
		return nil, err
	}
	q.Title, q.Empty = "Pending updates", "Nothing is waiting for a decision."
	if f.Status == "" {
		q.Note = "Integrity alarms first, newest first; then each change once, with the workspaces it affects, oldest first. Apply installs exactly the commit shown."
	}
	return q, nil
}

// alarmKindsFilter is every alarm kind as the API's kind filter takes it
// (comma-separated), derived from the kinds themselves so that a new alarm
// kind shows up in the page's "more alarms" link too.
var alarmKindsFilter = func() string {
	var names []string
	for _, k := range storage.Kinds() {
		if k.Alarm() {
			names = append(names, string(k))
		}
	}
	return strings.Join(names, ",")
}()
