package reliability_test

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// installRun is one call of a replica's Installer, as its log lines tell.
type installRun struct {
	pid             int
	update          int64
	ws, plugin, sha string
	start, end      time.Time
	// outcome is "end" (it completed), "abort" (its context ended first),
	// "killed" (its process was killed first; end is when it was seen
	// dead) or "running" (neither; end is the far future).
	outcome string
}

func (r installRun) String() string {
	return fmt.Sprintf("pid %d install of update %d (%s/%s at %.12s) %s–%s %s",
		r.pid, r.update, r.ws, r.plugin, r.sha, r.start.Format("15:04:05.000000"), r.end.Format("15:04:05.000000"), r.outcome)
}

var farFuture = time.Unix(1<<40, 0)

// readInstallRuns reads the fleet's install log. Killed processes' open
// runs end when the process was seen dead.
func readInstallRuns(t *testing.T, path string, killed map[int]time.Time) []installRun {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	type key struct {
		pid    int
		update int64
	}
	open := map[key]int{} // → index in runs
	var runs []installRun
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, 7, "install log line %d: %q", n, sc.Text())
		pid, err1 := strconv.Atoi(fields[1])
		update, err2 := strconv.ParseInt(fields[2], 10, 64)
		nanos, err3 := strconv.ParseInt(fields[6], 10, 64)
		require.True(t, err1 == nil && err2 == nil && err3 == nil, "install log line %d: %q", n, sc.Text())
		at := time.Unix(0, nanos)
		k := key{pid, update}
		switch fields[0] {
		case "start":
			_, dup := open[k]
			require.False(t, dup, "install log line %d: pid %d starts update %d twice at once", n, pid, update)
			open[k] = len(runs)
			runs = append(runs, installRun{pid: pid, update: update, ws: fields[3], plugin: fields[4], sha: fields[5], start: at, outcome: "running", end: farFuture})
		case "end", "abort":
			i, ok := open[k]
			require.True(t, ok, "install log line %d: %s without a start", n, fields[0])
			runs[i].end, runs[i].outcome = at, fields[0]
			delete(open, k)
		default:
			t.Fatalf("install log line %d: unknown event %q", n, fields[0])
		}
	}
	require.NoError(t, sc.Err())
	for _, i := range open {
		if at, ok := killed[runs[i].pid]; ok {
			runs[i].end, runs[i].outcome = at, "killed"
		}
	}
	return runs
}

// runsOf groups runs by update id, each group ordered by start.
func runsOf(runs []installRun) map[int64][]installRun {
	by := map[int64][]installRun{}
	for _, r := range runs {
		by[r.update] = append(by[r.update], r)
	}
	for _, rs := range by {
		sort.Slice(rs, func(i, j int) bool { return rs[i].start.Before(rs[j].start) })
	}
	return by
}

// errorList collects violations of one invariant and reports them
// together, with a cap so that a broken invariant does not flood the log.
type errorList struct {
	name string
	msgs []string
}

func (l *errorList) add(format string, args ...any) {
	l.msgs = append(l.msgs, fmt.Sprintf(format, args...))
}

func (l *errorList) report(t *testing.T) {
	t.Helper()
	if len(l.msgs) == 0 {
		t.Logf("invariant holds: %s", l.name)
		return
	}
	shown := l.msgs[:min(len(l.msgs), 10)]
	t.Errorf("invariant broken: %s: %d violation(s):\n  %s", l.name, len(l.msgs), strings.Join(shown, "\n  "))
}

// checkInstallRuns holds the install log against the queue:
//
//   - every run installed exactly its entry's ToSHA, for its install;
//   - the runs of one entry never overlap in time (a killed run lasts
//     until its process was seen dead, a running one forever). Aborted
//     runs are left out: they stopped without installing, and a process
//     frozen mid-install cannot help overlapping the one that took over;
//     TestFrozenHolderLosesItsClaim holds them to stopping instead;
//   - every completed run is accounted for: its entry is applied, or a
//     later run of the same entry completed (a re-install of the same
//     commit after the first was not recorded);
//   - every applied entry has a completed run;
//   - with exactlyOnce (no faults were injected), every applied entry has
//     exactly one completed run and no other entry has any, and no run
//     was aborted.
func checkInstallRuns(t *testing.T, entries map[int64]tracking.Update, runs []installRun, exactlyOnce bool) {
	t.Helper()
	sha := errorList{name: "every install is of exactly the entry's to_sha"}
	overlap := errorList{name: "installs of one entry never overlap"}
	accounted := errorList{name: "every completed install is accounted for"}
	once := errorList{name: "applied entries were installed (exactly once when nothing failed)"}
	by := runsOf(runs)
	for id, rs := range by {
		e, ok := entries[id]
		if !ok {
			sha.add("%s: no such entry", rs[0])
			continue
		}
		completed := 0
		var lastEnd time.Time
		for i, r := range rs {
			if r.sha != e.ToSHA || r.ws != e.WorkspaceID || r.plugin != e.PluginName {
				sha.add("%s: the entry is %s/%s to %s", r, e.WorkspaceID, e.PluginName, e.ToSHA)
			}
			if r.outcome != "abort" {
				if r.start.Before(lastEnd) {
					overlap.add("%s started before an earlier install of the same entry ended (%s)", r, lastEnd.Format("15:04:05.000000"))
				}
				lastEnd = laterOf(lastEnd, r.end)
			}
			if r.outcome == "end" {
				completed++
				if e.Status != tracking.StatusApplied && !laterCompleted(rs[i+1:]) {
					accounted.add("%s completed, but the entry is %s and no later install of it completed", r, e.Status)
				}
			}
			if exactlyOnce && r.outcome != "end" {
				once.add("%s did not complete, though no fault was injected", r)
			}
		}
		if exactlyOnce && (completed > 1 || (completed == 1 && e.Status != tracking.StatusApplied)) {
			once.add("update %d (%s) completed %d installs", id, e.Status, completed)
		}
	}
	for id, e := range entries {
		if e.Status == tracking.StatusApplied && !laterCompleted(by[id]) {
			once.add("update %d is applied but no install of it completed", id)
		}
	}
	for _, l := range []*errorList{&sha, &overlap, &accounted, &once} {
		l.report(t)
	}
}

func laterCompleted(rs []installRun) bool {
	for _, r := range rs {
		if r.outcome == "end" {
			return true
		}
	}
	return false
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
