package drift_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
)

// gate holds the resolutions of srcB until released (or their ctx ends),
// and says when the first one arrives.
type gate struct {
	entered chan struct{}
	release chan struct{}
}

func newGate(res *fakeResolver) *gate {
	g := &gate{entered: make(chan struct{}, 100), release: make(chan struct{})}
	hang := mustSource(srcB)
	res.hook = func(ctx context.Context, req resolver.Request) error {
		if req.Source != hang {
			return nil
		}
		g.entered <- struct{}{}
		select {
		case <-g.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g
}

// wait receives from ch, or fails the test after 10 seconds.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen within 10s", what)
		panic("unreachable")
	}
}

// sweepSetup records n hanging upstreams on srcB, listed first, then n
// healthy ones on srcA whose upstream moved.
func sweepSetup(t *testing.T, n int) (storage.Store, *clock, *fakeResolver, *gate) {
	s, c, res := memstore.New(), newClock(), newFakeResolver()
	for i := range n {
		record(t, s, c, "ws", fmt.Sprintf("slow-%02d", i), srcB, fmt.Sprintf("branch:b%02d", i), sha(1), "")
		res.set(srcB, fmt.Sprintf("branch:b%02d", i), sha(1), "")
	}
	for i := range n {
		record(t, s, c, "ws", fmt.Sprintf("good-%02d", i), srcA, fmt.Sprintf("branch:b%02d", i), sha(1), "")
		res.set(srcA, fmt.Sprintf("branch:b%02d", i), sha(2), "")
	}
	return s, c, res, newGate(res)
}

func TestTriggeredSweepOutlivesTheRunOnceCallerItJoined(t *testing.T) {
	s, c, res, g := sweepSetup(t, 10)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1})

	// A RunOnce caller starts the sweep, which hangs on srcB.
	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		rep drift.Report
		err error
	}
	first := make(chan result, 1)
	go func() {
		rep, err := sw.RunOnce(ctx)
		first <- result{rep, err}
	}()
	wait(t, g.entered, "the first hanging resolution")

	// An operator triggers a sweep: it joins the running one. Then the
	// RunOnce caller leaves.
	run := sw.Trigger()
	cancel()
	// Give a wrongly cancelled sweep the chance to stop before the
	// resolutions are released.
	for range 100 {
		runtime.Gosched()
	}
	close(g.release)
	wait(t, run.Done(), "the end of the triggered sweep")

	rep, err := run.Result()
	require.NoError(t, err)
	assert.Equal(t, 20, rep.Upstreams)
	assert.Equal(t, 10, rep.Queued, "every healthy upstream was queued")
	assert.Len(t, pending(t, s), 10)
	assert.Equal(t, 20, res.totalCalls(), "one sweep, each upstream resolved once")
	got := wait(t, first, "RunOnce to return")
	require.NoError(t, got.err)
	assert.Equal(t, rep, got.rep, "the RunOnce caller got the same sweep's report")
}

func TestRunOnceJoinsTriggeredSweep(t *testing.T) {
	s, c, res, g := sweepSetup(t, 3)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1})
	run := sw.Trigger()
	wait(t, g.entered, "the first hanging resolution")
	assert.Same(t, run, sw.Trigger(), "a second Trigger joins the running sweep")

	// A RunOnce whose ctx has already ended joins too, and does not stop
	// the sweep that Trigger asked for.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	ctx := newWatchedContext(cancelled)
	joined := make(chan drift.Report, 1)
	go func() {
		rep, err := sw.RunOnce(ctx)
		assert.NoError(t, err)
		joined <- rep
	}()
	wait(t, ctx.watched, "RunOnce to watch its ctx")
	close(g.release)
	rep, err := run.Result()
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Queued)
	assert.Equal(t, rep, wait(t, joined, "RunOnce to return"), "RunOnce returned the triggered sweep's report")
	assert.Equal(t, 6, res.totalCalls(), "one sweep: RunOnce did not start its own")
}

// watchedContext says when someone first asks for its Done channel, as
// RunOnce does when it joins a sweep and starts watching its ctx.
type watchedContext struct {
	context.Context
	once    sync.Once
	watched chan struct{}
}

func newWatchedContext(ctx context.Context) *watchedContext {
	return &watchedContext{Context: ctx, watched: make(chan struct{})}
}

func (c *watchedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.watched) })
	return c.Context.Done()
}

func TestLatest(t *testing.T) {
	s, c, res, g := sweepSetup(t, 2)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1})
	assert.Equal(t, drift.SweepStatus{}, sw.Latest(), "never swept")

	start := c.Now().UTC()
	run := sw.Trigger()
	wait(t, g.entered, "the first hanging resolution")
	st := sw.Latest()
	assert.True(t, st.Running)
	assert.Equal(t, start, st.StartedAt)
	assert.True(t, st.FinishedAt.IsZero())
	assert.Equal(t, drift.Report{}, st.Report, "no report while running")

	c.Advance(time.Minute)
	close(g.release)
	wait(t, run.Done(), "the end of the sweep")
	st = sw.Latest()
	assert.False(t, st.Running)
	assert.Equal(t, start, st.StartedAt)
	assert.Equal(t, start.Add(time.Minute), st.FinishedAt)
	assert.Equal(t, 2, st.Report.Queued)
	assert.NoError(t, st.Err)

	// A sweep that fails is the latest too, with its error.
	broken := &failingLease{Store: s}
	sw = newSweeper(t, broken, res, c, nil)
	_, err := sw.RunOnce(t.Context())
	require.Error(t, err)
	st = sw.Latest()
	assert.False(t, st.Running)
	assert.ErrorIs(t, st.Err, errLeaseStore)
}

var errLeaseStore = errors.New("lease table unavailable")

type failingLease struct{ storage.Store }

func (failingLease) AcquireLease(context.Context, storage.LeaseParams) (bool, error) {
	return false, errLeaseStore
}

func TestStopEndsTriggeredSweep(t *testing.T) {
	s, c, res, g := sweepSetup(t, 2)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1})
	run := sw.Trigger()
	wait(t, g.entered, "the first hanging resolution")
	sw.Stop() // never started: Stop still ends the lifetime
	select {
	case <-run.Done():
	default:
		t.Fatal("Stop returned before the triggered sweep ended")
	}
	rep, err := run.Result()
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "stopped")
	assert.Zero(t, rep.Queued, "the hanging upstreams come first: nothing was queued before Stop")
	assert.Empty(t, pending(t, s))

	// A Trigger after Stop does not sweep.
	calls := res.totalCalls()
	late := sw.Trigger()
	wait(t, late.Done(), "the refused trigger")
	_, err = late.Result()
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, calls, res.totalCalls())

	// Start takes triggers again.
	require.NoError(t, sw.Start(t.Context()))
	t.Cleanup(sw.Stop)
	res.hook = nil
	rep, err = sw.Trigger().Result()
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Queued, "the healthy upstreams")
}
