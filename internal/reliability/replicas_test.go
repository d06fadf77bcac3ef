package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// op is one planned admin call of a round.
type op struct {
	id      int64
	dismiss bool
	on      []*replica // apply: several replicas at once, to race the claim
}

// roundStats counts what the client saw.
type roundStats struct {
	mu                          sync.Mutex
	applied, busy, conflicts    int
	dismissed, sweeps, skipped  int
	queued, superseded, samples int
	unexpected                  []string
}

func (s *roundStats) note(f func(*roundStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// TestReplicasShareOnePostgres runs three replica processes on one
// Postgres database. For several rounds the git upstreams move (new
// commits, new tags), sweeps run on random replicas (two at once now and
// then, so the lease has to keep them apart), and a client applies and
// dismisses entries through random replicas' admin APIs, applying some
// entries on two replicas at once. It checks, during the run, that no
// install ever has two open entries; after each round, once a last sweep
// ran on a quiet queue, that no upstream move was lost; and at the end,
// from the queue and the installer log, that every applied entry was
// installed exactly once, at its to_sha, and that no other entry was
// installed at all.
func TestReplicasShareOnePostgres(t *testing.T) {
	upstreams, perUpstream, rounds := size(20, 200), 10, size(5, 30)
	rng := newRand(t)
	store, dsn := newStore(t)
	f := newFarm(t, upstreams)
	seedInstalls(t, store, f, perUpstream)
	fl := newFleet(t, buildReplica(t), dsn)
	var reps []*replica
	for i := range 3 {
		reps = append(reps, fl.start(fmt.Sprintf("r%d", i), replicaOpts{
			applyTimeout: time.Minute, leaseTTL: 10 * time.Second, resolveTimeout: time.Minute, installDelay: 5 * time.Millisecond,
		}))
	}
	pick := func() *replica { return reps[rng.IntN(len(reps))] }
	ctx, cancel := context.WithTimeout(t.Context(), size(3*time.Minute, 3*time.Hour))
	defer cancel()
	var stats roundStats
	moves := 0

	for round := range rounds {
		// Upstream moves: a third of the repositories get a commit, half
		// of those also a tag.
		for i := range f.len() {
			if rng.IntN(3) == 0 {
				f.move(i, rng.IntN(2) == 0)
				moves++
			}
		}
		pending, err := pick().pending(ctx)
		require.NoError(t, err)
		var ops []op
		for _, u := range pending {
			switch p := rng.IntN(100); {
			case p < 35:
				o := op{id: u.ID, on: []*replica{pick()}}
				if rng.IntN(5) == 0 { // the same entry on another replica at once
					o.on = append(o.on, reps[(indexOf(reps, o.on[0])+1+rng.IntN(len(reps)-1))%len(reps)])
				}
				ops = append(ops, o)
			case p < 45:
				ops = append(ops, op{id: u.ID, dismiss: true, on: []*replica{pick()}})
			}
		}
		sweepers := []*replica{pick()}
		if rng.IntN(2) == 0 {
			sweepers = append(sweepers, reps[(indexOf(reps, sweepers[0])+1)%len(reps)])
		}

		var wg sync.WaitGroup
		for _, r := range sweepers {
			wg.Go(func() {
				rep, err := r.sweep(ctx)
				stats.note(func(s *roundStats) {
					if err != nil {
						s.unexpected = append(s.unexpected, err.Error())
						return
					}
					s.sweeps++
					if rep.Skipped {
						s.skipped++
					}
				})
			})
		}
		work := make(chan op)
		for range 4 {
			wg.Go(func() {
				for o := range work {
					runOp(ctx, store, o, &stats)
				}
			})
		}
		for _, o := range ops {
			work <- o
		}
		close(work)
		wg.Wait()

		// A last sweep on a quiet queue, then every move must be accounted
		// for.
		rep, err := pick().sweep(ctx)
		require.NoError(t, err)
		require.False(t, rep.Skipped, "round %d: nothing else sweeps, yet the sweep was skipped", round)
		require.Zero(t, rep.Failed, "round %d: %+v", round, rep.Errors)
		stats.queued += rep.Queued
		stats.superseded += rep.Superseded
		checkDrift(t, store, f)
		if t.Failed() {
			t.Fatalf("round %d: stopping at the first broken round", round)
		}
	}

	require.Empty(t, stats.unexpected, "answers the API must never give")
	entries := allEntries(t, store)
	checkOneOpen(t, entries)
	checkNoStuckClaims(t, entries, time.Now())
	runs := readInstallRuns(t, fl.installLog, fl.killedAt())
	checkInstallRuns(t, entries, runs, true)
	checkInstalledAtLastApplied(t, store, entries, f)

	counts := map[tracking.UpdateStatus]int{}
	for _, e := range entries {
		counts[e.Status]++
	}
	t.Logf("%d installs over %d upstreams, %d rounds, %d upstream moves; %d sweeps (%d skipped: lease held) plus %d quiet ones "+
		"(which queued %d and superseded %d); applies: %d ok, %d busy, %d conflict; %d dismissed; %d install runs; "+
		"%d samples of the open-entry invariant; entries by status: %v",
		f.len()*perUpstream, f.len(), rounds, moves, stats.sweeps, stats.skipped, rounds, stats.queued, stats.superseded,
		stats.applied, stats.busy, stats.conflicts, stats.dismissed, len(runs), stats.samples, counts)
}

func indexOf(reps []*replica, r *replica) int {
	for i, x := range reps {
		if x == r {
			return i
		}
	}
	return -1
}

// runOp sends one planned call (an apply on several replicas at once)
// and samples the open-entry invariant after it.
func runOp(ctx context.Context, store *bunstore.Store, o op, stats *roundStats) {
	var wg sync.WaitGroup
	for _, r := range o.on {
		wg.Go(func() {
			var status int
			var b apiBody
			var err error
			if o.dismiss {
				status, b, err = r.dismiss(ctx, o.id)
			} else {
				status, b, err = r.apply(ctx, o.id)
			}
			stats.note(func(s *roundStats) {
				switch {
				case err != nil:
					s.unexpected = append(s.unexpected, err.Error())
				case status == http.StatusOK && o.dismiss:
					s.dismissed++
				case status == http.StatusOK:
					s.applied++
				case status == http.StatusConflict && b.Error != nil && b.Error.Code == "busy":
					s.busy++
				case status == http.StatusConflict:
					s.conflicts++ // superseded by a sweep, or decided by the other call
				default:
					s.unexpected = append(s.unexpected, fmt.Sprintf("replica %s: update %d: %d %+v", r.name, o.id, status, b.Error))
				}
			})
		})
	}
	wg.Wait()
	n, err := openDuplicates(ctx, store)
	stats.note(func(s *roundStats) {
		s.samples++
		if err != nil {
			s.unexpected = append(s.unexpected, err.Error())
		} else if n > 0 {
			s.unexpected = append(s.unexpected, fmt.Sprintf("after update %d: %d installs have two open entries", o.id, n))
		}
	})
}
