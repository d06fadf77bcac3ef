package drift_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

func newUpdater(t *testing.T, s storage.Store, inst drift.Installer, rst drift.Restarter, cfg *drift.UpdaterConfig) *drift.Updater {
	t.Helper()
	up, err := drift.NewUpdater(s, inst, rst, cfg)
	require.NoError(t, err)
	return up
}

func newSweeper(t *testing.T, s storage.Store, r resolver.Resolver, c *clock, cfg *drift.SweeperConfig) *drift.Sweeper {
	t.Helper()
	if cfg == nil {
		cfg = &drift.SweeperConfig{}
	}
	cfg.Now = c.Now
	sw, err := drift.NewSweeper(s, r, cfg)
	require.NoError(t, err)
	return sw
}

func TestSweepResolvesEachUpstreamOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		const upstreams, installs = 10, 1000
		for i := range installs {
			ref := fmt.Sprintf("branch:b%d", i%upstreams)
			record(t, s, c, fmt.Sprintf("ws-%04d", i), "plugin", srcA, ref, sha(1), "")
		}
		for u := range upstreams {
			res.set(srcA, fmt.Sprintf("branch:b%d", u), sha(2), "")
		}
		sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 4, PageSize: 3})
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, upstreams, res.totalCalls(), "one resolution per distinct upstream")
		assert.Equal(t, upstreams, rep.Upstreams)
		assert.Equal(t, upstreams, rep.Resolved)
		assert.Equal(t, installs, rep.Installs)
		assert.Equal(t, installs, rep.Queued)
		assert.Len(t, pending(t, s), installs)

		// Second sweep: nothing moved; the resolver was given the last SHA.
		c.Advance(time.Hour)
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 2*upstreams, res.totalCalls())
		assert.Equal(t, upstreams, rep.Unchanged)
		assert.Zero(t, rep.Queued)
		assert.Len(t, pending(t, s), installs)
	})
}

func TestSweepSkipsUntrackedInstalls(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "pinned", srcA, "sha:"+sha(1), sha(1), "")
		record(t, s, c, "ws", "none", srcA, "none", sha(1), "")
		record(t, s, c, "ws", "local", "local://local", "", "", "")
		rep, err := newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Upstreams)
		assert.Zero(t, res.totalCalls())
		assert.Empty(t, allUpdates(t, s))
	})
}

func TestSweepFailingAndHangingUpstreamsDoNotStopOthers(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "good", srcA, "branch:main", sha(1), "")
		record(t, s, c, "ws", "bad", srcA, "branch:broken", sha(1), "")
		record(t, s, c, "ws", "slow", srcB, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		res.fail(srcA, "branch:broken", errors.New("remote hung up"))
		hang := mustSource(srcB)
		res.hook = func(ctx context.Context, req resolver.Request) error {
			if req.Source == hang {
				<-ctx.Done() // hangs until the per-call timeout
				return ctx.Err()
			}
			return nil
		}
		sw := newSweeper(t, s, res, c, &drift.SweeperConfig{ResolveTimeout: 50 * time.Millisecond})
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 3, rep.Upstreams)
		assert.Equal(t, 1, rep.Resolved)
		assert.Equal(t, 2, rep.Failed)
		assert.Equal(t, 1, rep.Queued)
		require.Len(t, rep.Errors, 2)
		var msgs []string
		for _, e := range rep.Errors {
			msgs = append(msgs, e.Ref+": "+e.Error)
		}
		assert.Contains(t, fmt.Sprint(msgs), "remote hung up")
		assert.Contains(t, fmt.Sprint(msgs), "deadline exceeded")

		up, err := s.GetUpstream(t.Context(), tracking.UpstreamKey{Source: mustSource(srcA), Ref: mustRef("branch:broken")})
		require.NoError(t, err)
		assert.Equal(t, 1, up.ConsecutiveFailures)
		assert.Contains(t, up.LastError, "remote hung up")

		// Backoff: the next sweep, a moment later, leaves the failing ones alone.
		c.Advance(10 * time.Second)
		before := res.totalCalls()
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 2, rep.Deferred)
		assert.Equal(t, before+1, res.totalCalls())
		// After the backoff they are tried again.
		c.Advance(drift.DefaultBackoff(1))
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Deferred)
		assert.Equal(t, 2, rep.Failed)
	})
}

func TestSweepDefersRateLimitedUpstreams(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "a1", srcA, "branch:one", sha(1), "")
		record(t, s, c, "ws", "b1", srcB, "branch:main", sha(1), "")
		res.set(srcB, "branch:main", sha(2), "")
		res.fail(srcA, "branch:one", &resolver.RateLimitError{Host: "git.example.com", RetryAfter: 10 * time.Minute})
		sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1})
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Deferred, "rate limited: deferred, not failed")
		assert.Zero(t, rep.Failed)
		assert.Empty(t, rep.Errors)
		assert.Equal(t, 1, rep.Resolved, "another host is unaffected")
		up, err := s.GetUpstream(t.Context(), tracking.UpstreamKey{Source: mustSource(srcA), Ref: mustRef("branch:one")})
		require.NoError(t, err)
		assert.Zero(t, up.ConsecutiveFailures, "a rate limit is not the upstream's failure")
		assert.Empty(t, up.LastError)

		// Once the host answers again, the upstream is resolved as usual.
		// (Holding the host back meanwhile is the resolver's job:
		// resolver/github's tests and the rate-limited sweep over the fake
		// GitHub API hold it to that.)
		res.set(srcA, "branch:one", sha(2), "")
		c.Advance(10 * time.Minute)
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Deferred)
		assert.Equal(t, 2, rep.Resolved)
	})
}

func TestSweepSkippedWhenLeaseHeld(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		ok, err := s.AcquireLease(t.Context(), storage.LeaseParams{Name: drift.SweeperLeaseName, Holder: "other-replica", TTL: time.Minute})
		require.NoError(t, err)
		require.True(t, ok)
		rep, err := newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.True(t, rep.Skipped)
		assert.Zero(t, res.totalCalls())
		assert.Empty(t, allUpdates(t, s))

		// Once the other replica lets go, the sweep runs. (Expiry is the
		// store's business, by its own clock: storetest holds it to that.)
		c.Advance(time.Minute)
		rep, err = newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.True(t, rep.Skipped, "the sweeper's clock does not decide the lease")
		require.NoError(t, s.ReleaseLease(t.Context(), drift.SweeperLeaseName, "other-replica"))
		rep, err = newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.False(t, rep.Skipped)
		assert.Equal(t, 1, rep.Queued)
	})
}

func TestTwoSweepersNeverOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		for i := range 20 {
			record(t, s, c, fmt.Sprintf("ws-%d", i), "p", srcA, fmt.Sprintf("branch:b%d", i%5), sha(1), "")
		}
		var active, overlaps atomic.Int32
		var current sync.Map // sweeper name -> in a sweep
		res.hook = func(ctx context.Context, req resolver.Request) error {
			active.Add(1)
			defer active.Add(-1)
			runtime.Gosched()
			return nil
		}
		mk := func(name string) *drift.Sweeper {
			return newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: name, Concurrency: 2})
		}
		a, b := mk("a"), mk("b")
		for round := range 20 {
			for u := range 5 {
				res.set(srcA, fmt.Sprintf("branch:b%d", u), sha(round+2), "")
			}
			var wg sync.WaitGroup
			reports := make([]drift.Report, 2)
			for i, sw := range []*drift.Sweeper{a, b} {
				wg.Go(func() {
					rep, err := sw.RunOnce(t.Context())
					assert.NoError(t, err)
					if !rep.Skipped {
						if _, loaded := current.LoadOrStore("sweeping", i); loaded {
							overlaps.Add(1)
						}
						current.Delete("sweeping")
					}
					reports[i] = rep
				})
			}
			wg.Wait()
			ran := 0
			for _, r := range reports {
				if !r.Skipped {
					ran++
				}
			}
			assert.GreaterOrEqual(t, ran, 1, "round %d: someone swept", round)
			requireOneOpenPerInstall(t, s)
			c.Advance(time.Minute)
		}
		assert.Zero(t, overlaps.Load())
		// Every install ends with exactly one open entry, to the last SHA.
		open := pending(t, s)
		require.Len(t, open, 20)
		for _, u := range open {
			assert.Equal(t, sha(21), u.ToSHA)
		}
	})
}

func TestSweepCancelledLeavesNothingHalfWritten(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		for i := range 40 {
			record(t, s, c, "ws", fmt.Sprintf("p%02d", i), srcA, fmt.Sprintf("branch:b%02d", i), sha(1), "")
			res.set(srcA, fmt.Sprintf("branch:b%02d", i), sha(2), "")
		}
		ctx, cancel := context.WithCancel(t.Context())
		var n atomic.Int32
		res.hook = func(rctx context.Context, req resolver.Request) error {
			switch k := n.Add(1); {
			case k == 10:
				cancel()
				fallthrough
			case k > 10:
				// Calls in flight end only once the cancellation has
				// reached the sweep (it does so asynchronously), so what
				// is counted is what started before it did.
				<-rctx.Done()
			}
			return nil
		}
		rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 2}).RunOnce(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Less(t, res.totalCalls(), 40, "the sweep stopped early")
		// Every entry written is complete, and the queue matches the report.
		us := allUpdates(t, s)
		assert.Len(t, us, rep.Queued)
		for _, u := range us {
			assert.Equal(t, tracking.StatusPending, u.Status)
			assert.Equal(t, sha(1), u.FromSHA)
			assert.Equal(t, sha(2), u.ToSHA)
		}
		requireOneOpenPerInstall(t, s)
		// No upstream was marked failed because of the cancellation.
		ups, err := s.ListUpstreams(t.Context(), storage.ListUpstreamsParams{Limit: 100})
		require.NoError(t, err)
		for _, up := range ups {
			assert.Zero(t, up.ConsecutiveFailures, up.Key.String())
		}
		// The lease was released: the next sweep runs at once and finishes.
		res.hook = nil
		rep, err = newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		assert.False(t, rep.Skipped)
		assert.Len(t, pending(t, s), 40)
	})
}

func TestDismissedThenNewerUpstream(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "tag:latest", sha(1), "v1.0.0")
		res.set(srcA, "tag:latest", sha(2), "v1.1.0")
		sw := newSweeper(t, s, res, c, nil)
		up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, &drift.UpdaterConfig{Now: c.Now})
		_, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		first := pending(t, s)
		require.Len(t, first, 1)
		_, err = up.Dismiss(t.Context(), first[0].ID, "alice", "waiting for 1.2")
		require.NoError(t, err)

		c.Advance(time.Hour)
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Queued, "a dismissed version is not queued again")

		res.set(srcA, "tag:latest", sha(3), "v1.2.0")
		c.Advance(time.Hour)
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Queued)
		open := pending(t, s)
		require.Len(t, open, 1)
		assert.Equal(t, "v1.2.0", open[0].ToVersion)
		old, err := s.GetUpdate(t.Context(), first[0].ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusDismissed, old.Status, "not revived")
	})
}

func TestRunOnceCoalesces(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		entered := make(chan struct{})
		release := make(chan struct{})
		res.hook = func(ctx context.Context, req resolver.Request) error {
			close(entered)
			<-release
			return nil
		}
		sw := newSweeper(t, s, res, c, nil)
		var wg sync.WaitGroup
		reports := make([]drift.Report, 2)
		wg.Go(func() {
			var err error
			reports[0], err = sw.RunOnce(t.Context())
			assert.NoError(t, err)
		})
		<-entered
		wg.Go(func() {
			var err error
			reports[1], err = sw.RunOnce(t.Context())
			assert.NoError(t, err)
		})
		// Let the second caller reach the in-flight sweep before it finishes.
		for range 100 {
			runtime.Gosched()
		}
		close(release)
		wg.Wait()
		assert.Equal(t, 1, res.totalCalls())
		assert.False(t, reports[0].Skipped)
		assert.Equal(t, 1, reports[0].Queued)
		if !reports[1].Skipped && reports[1].Queued == 0 {
			// The second call arrived after the first ended: a fresh sweep
			// would have resolved again.
			assert.Equal(t, 1, res.totalCalls())
		}
	})
}

func TestAutoApply(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		var installs []drift.InstallRequest
		var mu sync.Mutex
		inst := drift.InstallerFunc(func(_ context.Context, r drift.InstallRequest) error {
			mu.Lock()
			defer mu.Unlock()
			installs = append(installs, r)
			return nil
		})
		up := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{
			Now:       c.Now,
			AutoApply: func(tracking.Update) bool { return true }, // would accept anything…
			MinAge:    time.Hour,
		})
		record(t, s, c, "ws", "patch", srcA, "tag:latest", sha(1), "v1.4.2")
		record(t, s, c, "ws", "minor", srcB, "tag:latest", sha(1), "v1.4.2")
		record(t, s, c, "ws", "moved", srcA, "tag:v1.4.2", sha(1), "v1.4.2")
		record(t, s, c, "ws", "branch", srcA, "branch:main", sha(1), "")
		res.set(srcA, "tag:latest", sha(2), "v1.4.3")
		res.set(srcB, "tag:latest", sha(3), "v1.5.0")
		res.set(srcA, "tag:v1.4.2", sha(4), "v1.4.2")
		res.set(srcA, "branch:main", sha(5), "")
		var applied []int
		sw := newSweeper(t, s, res, c, &drift.SweeperConfig{
			AfterSweep: func(ctx context.Context, _ drift.Report) {
				n, err := up.AutoApply(ctx)
				assert.NoError(t, err)
				applied = append(applied, n)
			},
		})
		_, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []int{0}, applied, "nothing before MinAge")
		assert.Empty(t, installs)

		c.Advance(time.Hour)
		_, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []int{0, 3}, applied, "…but never a tag-moved entry")
		for _, r := range installs {
			assert.NotEqual(t, "moved", r.PluginName)
		}
		open := pending(t, s)
		require.Len(t, open, 1)
		assert.Equal(t, tracking.KindTagMoved, open[0].Kind)
		done, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusApplied}, Limit: 10})
		require.NoError(t, err)
		require.Len(t, done, 3)
		for _, u := range done {
			assert.Equal(t, drift.AutoApplyActor, u.DecidedBy)
		}
	})
}

func TestAutoApplyPatchOnly(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		var n atomic.Int32
		up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { n.Add(1); return nil }), nil, &drift.UpdaterConfig{Now: c.Now, AutoApply: drift.PatchOnly})
		record(t, s, c, "ws", "patch", srcA, "tag:latest", sha(1), "v1.4.2")
		record(t, s, c, "ws", "minor", srcB, "tag:latest", sha(1), "v1.4.2")
		res.set(srcA, "tag:latest", sha(2), "v1.4.3")
		res.set(srcB, "tag:latest", sha(3), "v1.5.0")
		_, err := newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		got, err := up.AutoApply(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, got)
		assert.Equal(t, int32(1), n.Load())
		in, err := s.GetInstall(t.Context(), "ws", "patch")
		require.NoError(t, err)
		assert.Equal(t, "v1.4.3", in.InstalledVersion)
		open := pending(t, s)
		require.Len(t, open, 1)
		assert.Equal(t, "minor", open[0].PluginName)
	})
}

func TestPatchOnly(t *testing.T) {
	for _, c := range []struct {
		from, to string
		kind     tracking.UpdateKind
		want     bool
	}{
		{"v1.4.2", "v1.4.3", tracking.KindNewVersion, true},
		{"1.4.2", "v1.4.10", tracking.KindNewVersion, true},
		{"v1.4.2", "v1.5.0", tracking.KindNewVersion, false},
		{"v1.4.2", "v2.0.0", tracking.KindNewVersion, false},
		{"v1.4.3", "v1.4.2", tracking.KindNewVersion, false},
		{"v1.4.2", "v1.4.3-rc.1", tracking.KindNewVersion, false},
		{"v1.4.2-rc.1", "v1.4.3", tracking.KindNewVersion, false},
		{"", "v1.4.3", tracking.KindNewVersion, false},
		{"v1.4", "v1.4.3", tracking.KindNewVersion, false},
		{"v1.4.2", "v1.4.3", tracking.KindTagMoved, false},
		{"v1.4.2", "v1.4.3", tracking.KindNewCommit, false},
	} {
		got := drift.PatchOnly(tracking.Update{FromVersion: c.from, ToVersion: c.to, Kind: c.kind})
		assert.Equal(t, c.want, got, "%s → %s (%s)", c.from, c.to, c.kind)
		assert.False(t, drift.Never(tracking.Update{FromVersion: c.from, ToVersion: c.to, Kind: c.kind}))
	}
}

func TestNewSweeperRejectsBadSchedule(t *testing.T) {
	for _, spec := range []string{"every hour", "* * *", "@every -1m", "61 * * * *", "@hourly; rm -rf /"} {
		_, err := drift.NewSweeper(newStoreForSchedule(), newFakeResolver(), &drift.SweeperConfig{Schedule: spec})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, spec)
	}
	for _, spec := range []string{"", "@hourly", "*/15 * * * *", "@every 30m", "0 3 * * MON"} {
		_, err := drift.NewSweeper(newStoreForSchedule(), newFakeResolver(), &drift.SweeperConfig{Schedule: spec})
		assert.NoError(t, err, spec)
	}
}

func TestStartRunsOnSchedule(t *testing.T) {
	s := newStoreForSchedule()
	c := newClock()
	res := newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	swept := make(chan struct{}, 10)
	res.hook = func(context.Context, resolver.Request) error {
		swept <- struct{}{}
		return nil
	}
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Schedule: "@every 1s"})
	require.NoError(t, sw.Start(t.Context()))
	require.Error(t, sw.Start(t.Context()), "started twice")
	select {
	case <-swept:
	case <-time.After(10 * time.Second):
		t.Fatal("no scheduled sweep within 10s of an @every 1s schedule")
	}
	sw.Stop()
	require.Eventually(t, func() bool { return len(pending(t, s)) == 1 }, 5*time.Second, 10*time.Millisecond)
}

// losesLease grants the first lease request and refuses renewals, as when
// another replica took over after this one stalled.
type losesLease struct {
	storage.Store
	calls atomic.Int32
}

func (l *losesLease) AcquireLease(ctx context.Context, p storage.LeaseParams) (bool, error) {
	if l.calls.Add(1) > 1 {
		return false, nil
	}
	return l.Store.AcquireLease(ctx, p)
}

func TestSweepStopsWhenLeaseIsLost(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		res.hook = func(ctx context.Context, req resolver.Request) error {
			<-ctx.Done() // still resolving when the renewal fails
			return ctx.Err()
		}
		ls := &losesLease{Store: s}
		// The renewal runs every LeaseTTL/3 of real time.
		sw := newSweeper(t, ls, res, c, &drift.SweeperConfig{LeaseTTL: 30 * time.Millisecond, ResolveTimeout: time.Minute})
		rep, err := sw.RunOnce(t.Context())
		require.Error(t, err)
		assert.ErrorIs(t, err, drift.ErrLeaseLost)
		assert.GreaterOrEqual(t, ls.calls.Load(), int32(2), "the lease was renewed")
		assert.Zero(t, rep.Queued)
		assert.Empty(t, allUpdates(t, s), "nothing written after the lease was lost")
	})
}

// slowRenewal holds every lease renewal until its context ends, as a
// database server that has not yet answered, and records how it ended.
type slowRenewal struct {
	storage.Store
	calls    atomic.Int32
	inFlight chan struct{}
	ended    chan error
}

func (l *slowRenewal) AcquireLease(ctx context.Context, p storage.LeaseParams) (bool, error) {
	if l.calls.Add(1) == 1 {
		return l.Store.AcquireLease(ctx, p)
	}
	select {
	case l.inFlight <- struct{}{}:
	default:
	}
	<-ctx.Done()
	select {
	case l.ended <- ctx.Err():
	default:
	}
	return false, ctx.Err()
}

// TestSweepEndWaitsForRenewalInFlight: the end of a sweep does not cut off
// a lease renewal in flight. (It used to cancel it; the server could then
// run the renewal after the release, and another replica's next sweep was
// skipped for a whole LeaseTTL.)
func TestSweepEndWaitsForRenewalInFlight(t *testing.T) {
	s := newStoreForSchedule()
	c := newClock()
	res := newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	ls := &slowRenewal{Store: s, inFlight: make(chan struct{}, 1), ended: make(chan error, 1)}
	res.hook = func(ctx context.Context, req resolver.Request) error {
		<-ls.inFlight // the sweep ends while a renewal is in flight
		return nil
	}
	// Renewals every LeaseTTL/3 of real time; each is given LeaseTTL.
	sw := newSweeper(t, ls, res, c, &drift.SweeperConfig{LeaseTTL: 90 * time.Millisecond, ResolveTimeout: time.Minute})
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Queued)
	assert.ErrorIs(t, <-ls.ended, context.DeadlineExceeded, "the renewal ran out its own time, not cut off by the sweep's end")
}
