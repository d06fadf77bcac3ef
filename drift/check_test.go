package drift_test

import (
	"context"
	"errors"
	"fmt"
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

func key(src, ref string) tracking.UpstreamKey {
	return tracking.UpstreamKey{Source: mustSource(src), Ref: mustRef(ref)}
}

func TestCheckResolvesExactlyTheGivenUpstreams(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		for i := range 4 {
			ref := fmt.Sprintf("branch:b%d", i)
			record(t, s, c, "ws-1", fmt.Sprintf("p%d", i), srcA, ref, sha(1), "")
			record(t, s, c, "ws-2", fmt.Sprintf("p%d", i), srcA, ref, sha(1), "")
			res.set(srcA, ref, sha(2), "")
		}
		sw := newSweeper(t, s, res, c, nil)
		unknown := key(srcB, "branch:nobody")
		rep, err := sw.Check(t.Context(), key(srcA, "branch:b1"), key(srcA, "branch:b3"), key(srcA, "branch:b1"), unknown)
		require.NoError(t, err)
		assert.Equal(t, drift.Report{Upstreams: 2, Resolved: 2, Installs: 4, Queued: 4, Duration: rep.Duration}, rep)
		assert.Equal(t, 2, res.totalCalls(), "each named upstream once, no other")
		var got []string
		for _, u := range pending(t, s) {
			got = append(got, u.WorkspaceID+"/"+u.PluginName)
		}
		assert.ElementsMatch(t, []string{"ws-1/p1", "ws-2/p1", "ws-1/p3", "ws-2/p3"}, got)
		_, err = s.GetUpstream(t.Context(), unknown)
		assert.ErrorIs(t, err, tracking.ErrNotFound, "an unknown key is not created")
	})
}

func TestCheckIgnoresBackoffAndRecordsFailures(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		k := key(srcA, "branch:main")
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.fail(srcA, "branch:main", errors.New("remote hung up"))
		sw := newSweeper(t, s, res, c, nil)
		_, err := sw.RunOnce(t.Context())
		require.NoError(t, err)

		// A sweep now leaves the failing upstream alone (backoff); a check
		// asks anyway, and its failure counts like a sweep's.
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Deferred)
		rep, err = sw.Check(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Failed)
		require.Len(t, rep.Errors, 1)
		assert.Contains(t, rep.Errors[0].Error, "remote hung up")
		up, err := s.GetUpstream(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 2, up.ConsecutiveFailures)

		res.set(srcA, "branch:main", sha(2), "")
		rep, err = sw.Check(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Queued)
		up, err = s.GetUpstream(t.Context(), k)
		require.NoError(t, err)
		assert.Zero(t, up.ConsecutiveFailures)
		assert.Equal(t, sha(2), up.LastSHA)
	})
}

func TestCheckOneReplicaAtATimePerUpstream(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		k := key(srcA, "branch:main")
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		entered, release := make(chan struct{}), make(chan struct{})
		var first atomic.Bool
		res.hook = func(ctx context.Context, req resolver.Request) error {
			// The first caller waits for the test, however early it comes;
			// later callers answer at once.
			if first.CompareAndSwap(false, true) {
				entered <- struct{}{}
				<-release
			}
			return nil
		}
		a := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-a"})
		b := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-b"})
		type result struct {
			rep drift.Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			rep, err := a.Check(t.Context(), k)
			done <- result{rep, err}
		}()
		<-entered // A holds the upstream's lease and is resolving

		rep, err := b.Check(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Deferred, "B leaves the upstream to A")
		assert.Equal(t, 1, res.totalCalls())

		close(release)
		r := <-done
		require.NoError(t, r.err)
		assert.Equal(t, 1, r.rep.Queued)

		// A released the lease: B may check now.
		rep, err = b.Check(t.Context(), k)
		require.NoError(t, err)
		assert.Equal(t, 1, rep.Resolved)
		assert.Equal(t, 2, res.totalCalls())
		requireOneOpenPerInstall(t, s)
	})
}

func TestCheckStoppedByItsContext(t *testing.T) {
	s := newStoreForSchedule()
	c := newClock()
	res := newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	ctx, cancel := context.WithCancel(t.Context())
	res.hook = func(context.Context, resolver.Request) error {
		cancel() // the caller gives up while upstream answers
		return nil
	}
	rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{ResolveTimeout: time.Minute}).Check(ctx, key(srcA, "branch:main"))
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, rep.Resolved)
	assert.Empty(t, pending(t, s), "a stopped check records nothing")
}
