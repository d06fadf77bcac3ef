package drift_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// TestSweepHangingUpstreamsKeepTheirBound: k upstreams that never answer
// fail with "timed out after …", hold at most Concurrency resolvers at a
// time, and delay the sweep by about ceil(k/Concurrency) × ResolveTimeout;
// every healthy upstream is still resolved.
func TestSweepHangingUpstreamsKeepTheirBound(t *testing.T) {
	const (
		healthy, hanging = 20, 10
		concurrency      = 4
		timeout          = 200 * time.Millisecond
	)
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		for i := range healthy + hanging {
			ref := fmt.Sprintf("branch:b%02d", i)
			record(t, s, c, "ws", fmt.Sprintf("p%02d", i), srcA, ref, sha(1), "")
			res.set(srcA, ref, sha(2), "")
		}
		var inFlight, most atomic.Int32
		res.hook = func(ctx context.Context, req resolver.Request) error {
			var n int
			if _, err := fmt.Sscanf(req.Ref.String(), "branch:b%d", &n); err != nil || n >= hanging {
				return nil
			}
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := most.Load()
				if cur <= m || most.CompareAndSwap(m, cur) {
					break
				}
			}
			<-ctx.Done() // hangs until the per-call timeout
			return ctx.Err()
		}
		sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: concurrency, ResolveTimeout: timeout})
		start := time.Now()
		rep, err := sw.RunOnce(t.Context())
		took := time.Since(start)
		require.NoError(t, err)
		assert.Equal(t, healthy, rep.Resolved)
		assert.Equal(t, healthy, rep.Queued)
		assert.Equal(t, hanging, rep.Failed)
		for _, e := range rep.Errors {
			assert.Contains(t, e.Error, "timed out after 200ms", e.Ref)
		}
		assert.LessOrEqual(t, most.Load(), int32(concurrency), "hanging upstreams held more resolvers than Concurrency")
		// ceil(10/4) = 3 rounds of the timeout; the slack is for a loaded
		// machine, not for the rule.
		bound := time.Duration((hanging+concurrency-1)/concurrency) * timeout
		assert.GreaterOrEqual(t, took, timeout)
		assert.Less(t, took, bound+5*time.Second, "a sweep with %d hanging upstreams took %s", hanging, took)
		up, err := s.GetUpstream(t.Context(), tracking.UpstreamKey{Source: mustSource(srcA), Ref: mustRef("branch:b00")})
		require.NoError(t, err)
		assert.Contains(t, up.LastError, "timed out after 200ms")
	})
}

// TestSweepBackoffCountsFromTheFailure: a failure that took a minute to
// arrive must not have used up its one-minute backoff by the time it is
// recorded.
func TestSweepBackoffCountsFromTheFailure(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "slow", srcA, "branch:main", sha(1), "")
		res.fail(srcA, "branch:main", errors.New("remote hung up"))
		res.hook = func(ctx context.Context, req resolver.Request) error {
			c.Advance(time.Minute) // the failure takes a minute to arrive
			return nil
		}
		sw := newSweeper(t, s, res, c, nil)
		_, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		failedAt := c.Now()
		up, err := s.GetUpstream(t.Context(), tracking.UpstreamKey{Source: mustSource(srcA), Ref: mustRef("branch:main")})
		require.NoError(t, err)
		assert.Equal(t, failedAt, up.LastCheckedAt, "the failure is dated when it happened")

		res.hook = nil
		c.Advance(time.Second)
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Deferred, "a second after the failure it is still backing off")
		assert.Equal(t, 1, res.totalCalls())
		c.Advance(drift.DefaultBackoff(1))
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Deferred)
		assert.Equal(t, 2, res.totalCalls())
	})
}

// TestSweepersWithSkewedClocksNeverOverlap runs two sweepers whose clocks
// are two minutes ahead and behind against one store: the lease is judged
// by the store's clock, so their sweeps never run at once. (With the
// callers' clocks, the one ahead took over the other's live lease.)
func TestSweepersWithSkewedClocksNeverOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		for i := range 4 {
			record(t, s, c, "ws", fmt.Sprintf("p%d", i), srcA, fmt.Sprintf("branch:b%d", i), sha(1), "")
		}
		var active, overlaps, swept atomic.Int32
		var wg sync.WaitGroup
		for _, skew := range []time.Duration{2 * time.Minute, -2 * time.Minute} {
			res := newFakeResolver()
			for i := range 4 {
				res.set(srcA, fmt.Sprintf("branch:b%d", i), sha(2), "")
			}
			res.hook = func(ctx context.Context, req resolver.Request) error {
				if active.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer active.Add(-1)
				time.Sleep(2 * time.Millisecond) // widen the window
				return nil
			}
			sw, err := drift.NewSweeper(s, res, &drift.SweeperConfig{
				Concurrency: 1, Holder: fmt.Sprintf("skew%+v", skew), LeaseTTL: time.Minute,
				Now: func() time.Time { return time.Now().Add(skew) },
			})
			require.NoError(t, err)
			wg.Go(func() {
				for range 15 {
					rep, err := sw.RunOnce(t.Context())
					if !assert.NoError(t, err) {
						return
					}
					if !rep.Skipped {
						swept.Add(1)
					}
				}
			})
		}
		wg.Wait()
		assert.Zero(t, overlaps.Load(), "two sweepers resolved at the same time")
		assert.Positive(t, swept.Load())
		requireOneOpenPerInstall(t, s)
	})
}

// TestSweepReportCountsWhatCommitted cancels sweeps at many points: the
// report must always say exactly what the store holds.
func TestSweepReportCountsWhatCommitted(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		for round := range 6 {
			res := newFakeResolver()
			ws := fmt.Sprintf("ws%d", round)
			for i := range 12 {
				ref := fmt.Sprintf("branch:r%d-%02d", round, i)
				record(t, s, c, ws, fmt.Sprintf("p%02d", i), srcB, ref, sha(1), "")
				res.set(srcB, ref, sha(2), "")
			}
			ctx, cancel := context.WithCancel(t.Context())
			var n atomic.Int32
			res.hook = func(context.Context, resolver.Request) error {
				if int(n.Add(1)) == 2+round {
					cancel()
				}
				return nil
			}
			rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 3, WriteConcurrency: 3}).RunOnce(ctx)
			cancel()
			if err != nil {
				require.ErrorIs(t, err, context.Canceled)
			}
			us, lerr := s.ListUpdates(t.Context(), storage.ListUpdatesParams{WorkspaceID: ws, Limit: storage.MaxLimit})
			require.NoError(t, lerr)
			assert.Len(t, us, rep.Queued, "round %d: the report and the store disagree", round)
			for _, u := range us {
				assert.True(t, strings.HasPrefix(u.Ref.String(), fmt.Sprintf("branch:r%d-", round)))
			}
		}
	})
}
