package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// Claim and lease lifetimes of the crash tests: short, so that a takeover
// after a crash comes soon.
const (
	crashApplyTimeout = 2 * time.Second
	crashLeaseTTL     = 3 * time.Second
	// crashResolveTimeout is generous: git over smart HTTP is slow on a
	// busy machine, and these tests are not about timeouts.
	crashResolveTimeout = time.Minute
)

// crashWorld is one crash test's world: a database, upstreams that all
// moved since the installs were recorded, and a fleet.
type crashWorld struct {
	f  *farm
	fl *fleet
}

func newCrashWorld(t *testing.T, bin string, upstreams, perUpstream int) (*crashWorld, *bunstore.Store) {
	t.Helper()
	store, dsn := newStore(t)
	f := newFarm(t, upstreams)
	seedInstalls(t, store, f, perUpstream)
	for i := range f.len() {
		f.move(i, true)
	}
	return &crashWorld{f: f, fl: newFleet(t, bin, dsn)}, store
}

// applyUntilDone applies id on r, again while the answer is 409 busy (a
// live claim of a crashed or frozen holder), until deadline. It returns
// the last answer.
func applyUntilDone(ctx context.Context, r *replica, id int64, within time.Duration) (int, apiBody, error) {
	deadline := time.Now().Add(within)
	for {
		status, b, err := r.apply(ctx, id)
		busy := err == nil && status == http.StatusConflict && b.Error != nil && b.Error.Code == "busy"
		if !busy || time.Now().After(deadline) {
			return status, b, err
		}
		// A real process holds the claim: poll, briefly, until it lapses.
		select {
		case <-ctx.Done():
			return status, b, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// awaitRun polls the install log until pid has logged event for update id.
func awaitRun(t *testing.T, fl *fleet, pid int, id int64, event string, within time.Duration) {
	t.Helper()
	want := fmt.Sprintf("%s %d %d ", event, pid, id)
	deadline := time.Now().Add(within)
	for {
		b, err := os.ReadFile(fl.installLog)
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the install log within %s", want, within)
		}
		time.Sleep(20 * time.Millisecond) // a real process writes it
	}
}

// outcomes of the installs of one entry, by who ran them.
func outcomesOf(runs []installRun, id int64, pids map[int]string) []string {
	var out []string
	for _, r := range runsOf(runs)[id] {
		out = append(out, pids[r.pid]+":"+r.outcome)
	}
	return out
}

// TestCrashes kills replicas with SIGKILL at every step, or freezes one
// with SIGSTOP, and checks that the survivors converge:
//
//   - apply/<step>: a replica dies at a step of an apply (after the claim,
//     during the install, after the install and before it is recorded,
//     after it is recorded and before the restart); another replica takes
//     the entry over once the claim lapses, and the killed one, restarted,
//     applies it again. The entry must end applied once, at its to_sha,
//     with every install that ran accounted for and none overlapping, and
//     nothing stuck in applying;
//   - apply/frozen-holder: a replica frozen mid-install loses its claim to
//     another and is woken while the other installs; it must change
//     nothing, and the other's install must be the one recorded;
//   - sweep/<step>: a replica dies while its sweep's reconciles are in
//     flight, before a Reconcile call or inside a Reconcile's
//     transaction; each upstream must be reconciled completely or not at
//     all, another replica's sweep is skipped while the dead one's lease
//     lasts and then queues exactly what was left, and a restarted
//     replica's sweep queues nothing twice.
func TestCrashes(t *testing.T) {
	bin := buildReplica(t)
	for _, c := range []struct {
		step string
		// want is the outcome of each install of the entry, in order: the
		// killed replica's (a), then the one that took over (b).
		want []string
	}{
		{"after-claim", []string{"b:end"}},
		{"during-install", []string{"a:killed", "b:end"}},
		{"after-install", []string{"a:end", "b:end"}},
		{"after-commit", []string{"a:end"}},
	} {
		t.Run("apply/"+c.step, func(t *testing.T) {
			t.Parallel()
			crashDuringApply(t, bin, c.step, c.want)
		})
	}
	t.Run("apply/frozen-holder", func(t *testing.T) {
		t.Parallel()
		frozenHolder(t, bin)
	})
	for _, step := range []string{"mid-reconcile", "reconcile-in-tx"} {
		t.Run("sweep/"+step, func(t *testing.T) {
			t.Parallel()
			crashMidSweep(t, bin, step)
		})
	}
}

// crashDuringApply kills a replica at step of an apply, once per entry
// tried (several in the long version).
func crashDuringApply(t *testing.T, bin, step string, want []string) {
	tries := size(1, 5)
	w, store := newCrashWorld(t, bin, tries, 2)
	ctx, cancel := context.WithTimeout(t.Context(), time.Duration(tries)*2*time.Minute)
	defer cancel()
	b := w.fl.start("b", replicaOpts{applyTimeout: crashApplyTimeout, resolveTimeout: crashResolveTimeout})
	rep, err := b.sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 2*tries, rep.Queued)
	pending, err := b.pending(ctx)
	require.NoError(t, err)

	names := map[int]string{b.pid: "b"}
	var tried []int64
	for try := range tries {
		e := pending[try]
		tried = append(tried, e.ID)
		a := w.fl.start(fmt.Sprintf("a%d", try), replicaOpts{applyTimeout: crashApplyTimeout, block: step})
		names[a.pid] = "a"
		go func() { _, _, _ = a.apply(ctx, e.ID) }() // it never answers: a is killed
		a.awaitMarker(step, time.Minute)
		a.kill()
		at, err := store.GetUpdate(ctx, e.ID)
		require.NoError(t, err)
		if step == "after-commit" {
			require.Equal(t, tracking.StatusApplied, at.Status, "the apply was recorded before the restart")
		} else {
			require.Equal(t, tracking.StatusApplying, at.Status, "the killed replica held the claim")
		}

		status, body, err := applyUntilDone(ctx, b, e.ID, crashApplyTimeout+30*time.Second)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "replica b takes over once the claim lapses: %+v", body.Error)
		require.Equal(t, "applied", body.Update.Status)

		a2 := w.fl.start(fmt.Sprintf("a%d-restarted", try), replicaOpts{applyTimeout: crashApplyTimeout})
		names[a2.pid] = "a2"
		status, body, err = a2.apply(ctx, e.ID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "applying an applied entry again is a no-op: %+v", body.Error)
	}

	rep, err = b.sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Queued, "nothing new upstream, nothing to queue")
	checkDrift(t, store, w.f)
	entries := allEntries(t, store)
	checkOneOpen(t, entries)
	checkNoStuckClaims(t, entries, time.Now())
	runs := readInstallRuns(t, w.fl.installLog, w.fl.killedAt())
	checkInstallRuns(t, entries, runs, false)
	checkInstalledAtLastApplied(t, store, entries, w.f)
	for _, id := range tried {
		assert.Equal(t, want, outcomesOf(runs, id, names), "the installs of update %d", id)
	}
	t.Logf("%d applies killed at %s and taken over; %d install runs", tries, step, len(runs))
}

// frozenHolder freezes a replica (SIGSTOP) in the middle of an install,
// lets its claim lapse and another replica take the entry over, and wakes
// the frozen one (SIGCONT) while the other is still installing.
func frozenHolder(t *testing.T, bin string) {
	tries := size(1, 3)
	w, store := newCrashWorld(t, bin, tries, 1)
	ctx, cancel := context.WithTimeout(t.Context(), time.Duration(tries)*2*time.Minute)
	defer cancel()
	// a's install would outlast its claim; b's fits in its own, with time
	// left to wake a while it runs.
	const claim = 4 * time.Second
	b := w.fl.start("b", replicaOpts{applyTimeout: claim, installDelay: claim / 2, resolveTimeout: crashResolveTimeout})
	rep, err := b.sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, tries, rep.Queued)
	pending, err := b.pending(ctx)
	require.NoError(t, err)

	type answer struct {
		status int
		body   apiBody
		err    error
	}
	for try := range tries {
		e := pending[try]
		a := w.fl.start(fmt.Sprintf("a%d", try), replicaOpts{applyTimeout: claim, installDelay: 20 * time.Second})
		aDone, bDone := make(chan answer, 1), make(chan answer, 1)
		go func() {
			s, bd, err := a.apply(ctx, e.ID)
			aDone <- answer{s, bd, err}
		}()
		awaitRun(t, w.fl, a.pid, e.ID, "start", time.Minute)
		a.signal(syscall.SIGSTOP)
		t.Cleanup(func() { _ = a.cmd.Process.Signal(syscall.SIGCONT) })
		go func() {
			s, bd, err := applyUntilDone(ctx, b, e.ID, claim+30*time.Second)
			bDone <- answer{s, bd, err}
		}()
		awaitRun(t, w.fl, b.pid, e.ID, "start", time.Minute)
		a.signal(syscall.SIGCONT)

		ra, rb := <-aDone, <-bDone
		t.Logf("update %d: the woken replica answered %d %+v (%v); the one that took over answered %d %+v (%v)",
			e.ID, ra.status, ra.body.Error, ra.err, rb.status, rb.body.Error, rb.err)
		assert.Equal(t, http.StatusOK, rb.status, "the replica that took over records its install: %+v", rb.body.Error)
		runs := readInstallRuns(t, w.fl.installLog, w.fl.killedAt())
		assert.Equal(t, []string{"a:abort", "b:end"}, outcomesOf(runs, e.ID, map[int]string{a.pid: "a", b.pid: "b"}),
			"the woken replica's install of update %d stops without completing; the other one completes", e.ID)
	}

	entries := allEntries(t, store)
	runs := readInstallRuns(t, w.fl.installLog, w.fl.killedAt())
	checkInstallRuns(t, entries, runs, false)
	checkNoStuckClaims(t, entries, time.Now())
	for _, e := range pending[:tries] {
		assert.Equal(t, tracking.StatusApplied, entries[e.ID].Status, "update %d ends applied by the replica that took it over", e.ID)
	}
	checkInstalledAtLastApplied(t, store, entries, w.f)
}

func crashMidSweep(t *testing.T, bin, step string) {
	upstreams, perUpstream := size(12, 60), size(3, 10)
	w, store := newCrashWorld(t, bin, upstreams, perUpstream)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// The 3rd Reconcile blocks, and every later one: the first two
	// commit, and the other writer's may be in flight at the kill.
	a := w.fl.start("a", replicaOpts{leaseTTL: crashLeaseTTL, resolveTimeout: crashResolveTimeout, holder: "replica-a", block: step, blockAt: 3})
	b := w.fl.start("b", replicaOpts{leaseTTL: crashLeaseTTL, resolveTimeout: crashResolveTimeout, holder: "replica-b"})

	go func() { _, _ = a.sweep(ctx) }() // it never answers: a is killed
	a.awaitMarker(step, time.Minute)
	a.kill()
	killed := time.Now()

	done := checkUpstreamsAtomic(t, store, w.f, perUpstream)
	t.Logf("%d of %d upstreams were reconciled before the kill", done, upstreams)
	require.Positive(t, done, "the first reconciles committed before the 3rd blocked")
	require.Less(t, done, upstreams, "the kill came before the sweep ended")

	rep, err := b.sweep(ctx)
	require.NoError(t, err)
	if time.Since(killed) < crashLeaseTTL/2 {
		require.True(t, rep.Skipped, "the dead replica's lease still holds: %+v", rep)
	}
	// Poll the live replica until the dead one's lease lapses.
	deadline := time.Now().Add(crashLeaseTTL + 30*time.Second)
	for rep.Skipped && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		rep, err = b.sweep(ctx)
		require.NoError(t, err)
	}
	require.False(t, rep.Skipped, "the dead replica's lease never lapsed")
	require.Zero(t, rep.Failed, "%+v", rep.Errors)
	assert.Equal(t, (upstreams-done)*perUpstream, rep.Queued, "the sweep after the crash queues exactly what was left")
	assert.Zero(t, rep.Superseded)
	checkDrift(t, store, w.f)

	a2 := w.fl.start("a-restarted", replicaOpts{leaseTTL: crashLeaseTTL, resolveTimeout: crashResolveTimeout, holder: "replica-a"})
	rep, err = a2.sweep(ctx)
	require.NoError(t, err)
	require.False(t, rep.Skipped)
	assert.Zero(t, rep.Queued, "nothing is queued twice")
	entries := allEntries(t, store)
	checkOneOpen(t, entries)
	assert.Len(t, entries, upstreams*perUpstream, "one entry per install, no more")
}
