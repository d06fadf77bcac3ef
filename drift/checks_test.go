package drift_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func newCheckWorker(t *testing.T, sw *drift.Sweeper, cfg *drift.CheckWorkerConfig) *drift.CheckWorker {
	t.Helper()
	w, err := drift.NewCheckWorker(sw, cfg)
	require.NoError(t, err)
	return w
}

func recordPush(t *testing.T, s storage.Store, c *clock, keys ...tracking.UpstreamKey) {
	t.Helper()
	_, err := s.RecordPush(t.Context(), storage.RecordPushParams{Keys: keys, At: c.Now()})
	require.NoError(t, err)
}

func openRequests(t *testing.T, s storage.Store) []storage.CheckRequest {
	t.Helper()
	rs, err := s.ClaimCheckRequests(t.Context(), storage.ClaimCheckRequestsParams{Holder: "inspector", TTL: time.Hour, Limit: storage.MaxLimit})
	require.NoError(t, err)
	return rs
}

func TestCheckWorkerChecksExactlyTheRequestedUpstreams(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		for i := range 3 {
			ref := fmt.Sprintf("branch:b%d", i)
			record(t, s, c, "ws", fmt.Sprintf("p%d", i), srcA, ref, sha(1), "")
			res.set(srcA, ref, sha(2), "")
		}
		w := newCheckWorker(t, newSweeper(t, s, res, c, nil), nil)
		recordPush(t, s, c, key(srcA, "branch:b0"), key(srcA, "branch:b2"))
		c.Advance(3 * time.Second)

		rep, err := w.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 2, rep.Requests)
		assert.Equal(t, 2, rep.Checks.Resolved)
		assert.Equal(t, 2, rep.Checks.Queued)
		assert.Equal(t, 3*time.Second, rep.MaxWait, "from the push to the end of its check")
		assert.Equal(t, 2, res.totalCalls(), "b1 was not pushed")
		var got []string
		for _, u := range pending(t, s) {
			got = append(got, u.PluginName)
		}
		assert.ElementsMatch(t, []string{"p0", "p2"}, got)
		assert.Empty(t, openRequests(t, s), "done requests are gone")

		rep, err = w.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Requests, "nothing left")
		assert.Equal(t, 2, res.totalCalls())
	})
}

func TestCheckWorkerCoalescesABurstAndCatchesPushesDuringTheCheck(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		k := key(srcA, "branch:main")
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		for range 50 {
			recordPush(t, s, c, k)
		}
		// A push lands while the first check resolves: the upstream may
		// have moved after it was read, so one more check is owed.
		var once sync.Once
		res.hook = func(ctx context.Context, req resolver.Request) error {
			once.Do(func() {
				recordPush(t, s, c, k)
				res.mu.Lock()
				res.answers[reqKey(req.Source, req.Ref)] = resolver.Result{SHA: sha(3)}
				res.mu.Unlock()
			})
			return nil
		}
		const rest = 200 * time.Millisecond
		w := newCheckWorker(t, newSweeper(t, s, res, c, nil), &drift.CheckWorkerConfig{RecheckDelay: rest})
		start := time.Now()
		rep, err := w.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, res.totalCalls(), "50 pushes, one check")
		assert.Equal(t, 1, rep.Requests)
		assert.Equal(t, 1, rep.Again, "the push during the check asks for one more")
		// The request rests RecheckDelay by the store's clock: polled.
		for rep.Requests == 0 || res.totalCalls() < 2 {
			require.Less(t, time.Since(start), 20*time.Second, "no second check")
			time.Sleep(20 * time.Millisecond)
			rep, err = w.RunOnce(t.Context())
			require.NoError(t, err)
		}
		assert.GreaterOrEqual(t, time.Since(start), rest-20*time.Millisecond, "the second check waited for the rest")
		assert.Equal(t, 2, res.totalCalls(), "51 pushes, two checks")
		assert.Zero(t, rep.Again)
		u := pending(t, s)
		require.Len(t, u, 1)
		assert.Equal(t, sha(3), u[0].ToSHA, "the second check saw the newest commit")
		assert.Empty(t, openRequests(t, s))
	})
}

func TestCheckWorkerRecordsFailuresLikeASweep(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		k := key(srcA, "branch:main")
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.fail(srcA, "branch:main", errors.New("remote hung up"))
		recordPush(t, s, c, k)
		rep, err := newCheckWorker(t, newSweeper(t, s, res, c, nil), nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Checks.Failed)
		require.Len(t, rep.Checks.Errors, 1)
		assert.Contains(t, rep.Checks.Errors[0].Error, "remote hung up")
		up, err := s.GetUpstream(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 1, up.ConsecutiveFailures)
		assert.Contains(t, up.LastError, "remote hung up")
		assert.Empty(t, openRequests(t, s), "a failed check is done; the schedule retries")
	})
}

// TestCheckWorkersOfTwoReplicasCheckEachRequestOnce runs two replicas'
// workers on one store at once.
func TestCheckWorkersOfTwoReplicasCheckEachRequestOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		var keys []tracking.UpstreamKey
		for i := range 20 {
			ref := fmt.Sprintf("branch:b%d", i)
			record(t, s, c, "ws", fmt.Sprintf("p%d", i), srcA, ref, sha(1), "")
			res.set(srcA, ref, sha(2), "")
			keys = append(keys, key(srcA, ref))
		}
		recordPush(t, s, c, keys...)
		var workers []*drift.CheckWorker
		for _, holder := range []string{"replica-a", "replica-b"} {
			sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: holder})
			workers = append(workers, newCheckWorker(t, sw, nil))
		}
		var wg sync.WaitGroup
		reps := make([]drift.CheckReport, len(workers))
		for i, w := range workers {
			wg.Go(func() {
				var err error
				reps[i], err = w.RunOnce(t.Context())
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		assert.Equal(t, 20, reps[0].Requests+reps[1].Requests)
		assert.Equal(t, 20, res.totalCalls(), "each upstream resolved once")
		res.mu.Lock()
		for k, n := range res.calls {
			assert.Equal(t, 1, n, k)
		}
		res.mu.Unlock()
		assert.Len(t, pending(t, s), 20)
	})
}

func TestCheckWorkerTakesOverTheRequestsOfADeadReplica(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		k := key(srcA, "branch:main")
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		recordPush(t, s, c, k)
		// The dead replica claimed the request and never completed it.
		const ttl = 300 * time.Millisecond
		dead, err := s.ClaimCheckRequests(t.Context(), storage.ClaimCheckRequestsParams{Holder: "dead", TTL: ttl, Limit: 10})
		require.NoError(t, err)
		require.Len(t, dead, 1)

		w := newCheckWorker(t, newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "alive"}), nil)
		rep, err := w.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Requests, "a live claim is left alone")
		// Polled: the claim expires by the store's clock, which a test
		// cannot move.
		deadline := time.Now().Add(20 * time.Second)
		for rep.Requests == 0 {
			require.True(t, time.Now().Before(deadline), "the dead replica's claim never expired")
			time.Sleep(20 * time.Millisecond)
			rep, err = w.RunOnce(t.Context())
			require.NoError(t, err)
		}
		assert.Equal(t, 1, rep.Checks.Queued)
		_, err = s.CompleteCheckRequest(t.Context(), storage.CompleteCheckRequestParams{Key: k, Holder: "dead", Generation: dead[0].Generation})
		assert.ErrorIs(t, err, tracking.ErrClaimLost, "the dead replica's late completion changes nothing")
	})
}

func TestCheckWorkerPostponesAnUpstreamAnotherReplicaIsChecking(t *testing.T) {
	s := memstore.New()
	c := newClock()
	res := newFakeResolver()
	k := key(srcA, "branch:main")
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	recordPush(t, s, c, k)
	up, err := s.GetUpstream(t.Context(), k)
	require.NoError(t, err)
	ok, err := s.AcquireLease(t.Context(), storage.LeaseParams{Name: drift.CheckLeaseName(up), Holder: "other", TTL: time.Hour})
	require.NoError(t, err)
	require.True(t, ok)

	w := newCheckWorker(t, newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "me"}), &drift.CheckWorkerConfig{Concurrency: 3, RecheckDelay: time.Microsecond})
	rep, err := w.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Requests, "claimed once in the round, not again by its other slots")
	assert.Equal(t, 1, rep.Postponed)
	assert.Zero(t, res.totalCalls())
	// Handed back resting RecheckDelay (1µs) by the store's clock.
	var back []storage.CheckRequest
	for deadline := time.Now().Add(10 * time.Second); len(back) == 0 && time.Now().Before(deadline); {
		back = openRequests(t, s)
	}
	require.Len(t, back, 1, "handed back for a later round")
	assert.Equal(t, k, back[0].Key)
}

// roundsDone is a slog handler that signals each logged round.
type roundsDone chan drift.CheckReport

func (roundsDone) Enabled(context.Context, slog.Level) bool { return true }
func (r roundsDone) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message == "plugindrift: push checks done" {
		var rep drift.CheckReport
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "requests" {
				rep.Requests = int(a.Value.Int64())
			}
			return true
		})
		r <- rep
	}
	return nil
}
func (r roundsDone) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r roundsDone) WithGroup(string) slog.Handler      { return r }

func TestCheckWorkerStartChecksLeftRequestsThenWhenWoken(t *testing.T) {
	s := memstore.New()
	c := newClock()
	res := newFakeResolver()
	for _, ref := range []string{"branch:main", "branch:dev"} {
		record(t, s, c, "ws", "p-"+ref[len("branch:"):], srcA, ref, sha(1), "")
		res.set(srcA, ref, sha(2), "")
	}
	rounds := make(roundsDone, 10)
	// A poll interval no test waits for: after the first round, only
	// Wake can start another.
	w := newCheckWorker(t, newSweeper(t, s, res, c, nil), &drift.CheckWorkerConfig{PollInterval: time.Hour, Logger: slog.New(rounds)})

	// A request left by a replica that died is checked when Start begins.
	recordPush(t, s, c, key(srcA, "branch:main"))
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(w.Stop)
	require.Error(t, w.Start(t.Context()), "started twice")
	waitRound := func() drift.CheckReport {
		t.Helper()
		select {
		case rep := <-rounds:
			return rep
		case <-time.After(10 * time.Second):
			t.Fatal("no round ran")
			return drift.CheckReport{}
		}
	}
	assert.Equal(t, 1, waitRound().Requests)

	recordPush(t, s, c, key(srcA, "branch:dev"))
	w.Wake()
	assert.Equal(t, 1, waitRound().Requests, "the woken worker checked the new request")
	w.Stop()
	assert.Len(t, pending(t, s), 2)
	assert.Equal(t, 2, res.totalCalls())
	require.NoError(t, w.Start(t.Context()), "Start after Stop")
}

func TestNewCheckWorkerRefusesBadConfig(t *testing.T) {
	_, err := drift.NewCheckWorker(nil, nil)
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	sw := newSweeper(t, memstore.New(), newFakeResolver(), newClock(), nil)
	for _, cfg := range []drift.CheckWorkerConfig{{Concurrency: -1}, {PollInterval: -time.Second}, {ClaimTTL: -time.Second}, {RecheckDelay: -time.Second}} {
		_, err := drift.NewCheckWorker(sw, &cfg)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", cfg)
	}
}

// TestCheckWorkerComesBackForRestingRequests: a request handed back to
// rest is checked when its rest ends, though the poll interval is an
// hour and wake-ups that found it resting came in between.
func TestCheckWorkerComesBackForRestingRequests(t *testing.T) {
	s := memstore.New()
	c := newClock()
	res := newFakeResolver()
	k := key(srcA, "branch:main")
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	resolved := make(chan struct{}, 10)
	var once sync.Once
	res.hook = func(context.Context, resolver.Request) error {
		once.Do(func() { recordPush(t, s, c, k) }) // a push during the first check
		resolved <- struct{}{}
		return nil
	}
	rounds := make(roundsDone, 100)
	w := newCheckWorker(t, newSweeper(t, s, res, c, nil), &drift.CheckWorkerConfig{PollInterval: time.Hour, RecheckDelay: 300 * time.Millisecond, Logger: slog.New(rounds)})
	recordPush(t, s, c, k)
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(w.Stop)
	<-resolved
	first := <-rounds
	require.Equal(t, 1, first.Requests)
	// Pushes while it rests wake the worker, whose rounds find nothing.
	for range 3 {
		recordPush(t, s, c, k)
		w.Wake()
	}
	select {
	case <-resolved:
	case <-time.After(10 * time.Second):
		t.Fatal("the resting request was not checked again")
	}
}
