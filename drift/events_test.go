package drift_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// inbox is a subscriber that records what it got and fails while told to.
type inbox struct {
	mu    sync.Mutex
	got   []tracking.Event
	fails map[int64]int // event ID → failures still to answer
}

func (b *inbox) deliver(_ context.Context, ev tracking.Event) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails[ev.ID] > 0 {
		b.fails[ev.ID]--
		return fmt.Errorf("receiver answered 503 for https://user:hunter2@hooks.example.com/x")
	}
	b.got = append(b.got, ev)
	return nil
}

func (b *inbox) ids() []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []int64
	for _, ev := range b.got {
		out = append(out, ev.ID)
	}
	return out
}

// queueEvents queues n entries (n update.queued events) and returns their
// event IDs in order.
func queueEvents(t *testing.T, s storage.Store, c *clock, n int) []int64 {
	t.Helper()
	for i := range n {
		queueOne(t, s, c, fmt.Sprintf("ws-%d", i))
	}
	evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	var ids []int64
	for _, ev := range evs {
		if ev.Type == tracking.EventUpdateQueued {
			ids = append(ids, ev.ID)
		}
	}
	require.Len(t, ids, n)
	return ids
}

func allEventIDs(t *testing.T, s storage.Store) []int64 {
	evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	var ids []int64
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

func newDispatcher(t *testing.T, s storage.Store, c *clock, cfg drift.DispatcherConfig, subs ...drift.Subscriber) *drift.Dispatcher {
	t.Helper()
	cfg.Now = c.Now
	d, err := drift.NewDispatcher(s, subs, &cfg)
	require.NoError(t, err)
	return d
}

func TestDispatcherDeliversInOrderOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		queueEvents(t, s, c, 3)
		want := allEventIDs(t, s)
		a, b := &inbox{}, &inbox{}
		d := newDispatcher(t, s, c, drift.DispatcherConfig{BatchSize: 2},
			drift.Subscriber{Name: "a", Deliver: a.deliver}, drift.Subscriber{Name: "b", Deliver: b.deliver})
		rep, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Delivered: 2 * len(want)}, rep)
		assert.Equal(t, want, a.ids())
		assert.Equal(t, want, b.ids(), "each subscriber has its own cursor")

		// The cursors are in the store: a new dispatcher (a restart)
		// delivers only what is new.
		rep, err = newDispatcher(t, s, c, drift.DispatcherConfig{}, drift.Subscriber{Name: "a", Deliver: a.deliver}).RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Delivered)
		queueOne(t, s, c, "ws-late")
		_, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, allEventIDs(t, s), a.ids())
	})
}

func TestDispatcherRetriesWithBackoffInOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		ids := queueEvents(t, s, c, 2)
		box := &inbox{fails: map[int64]int{ids[0]: 2}}
		d := newDispatcher(t, s, c, drift.DispatcherConfig{Backoff: func(n int) time.Duration { return time.Duration(n) * time.Minute }},
			drift.Subscriber{Name: "hook", Deliver: box.deliver})

		rep, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Failed: 1}, rep)
		assert.Empty(t, box.ids(), "a later event never overtakes a failing one")
		subs, err := s.ListSubscriptions(t.Context())
		require.NoError(t, err)
		require.Len(t, subs, 1)
		assert.Equal(t, 1, subs[0].Attempts)
		assert.Equal(t, c.Now().Add(time.Minute), subs[0].RetryAt)
		assert.NotContains(t, subs[0].LastError, "hunter2", "the failure is stored redacted")

		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep, "backing off: nothing is tried before RetryAt")

		c.Advance(time.Minute)
		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Failed: 1}, rep, "the second failure")
		c.Advance(time.Minute)
		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep, "the second backoff is longer")
		c.Advance(time.Minute)
		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Delivered: 2}, rep)
		assert.Equal(t, ids, box.ids())
	})
}

func TestDispatcherDeadAfterMaxAttemptsAndRetry(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		ids := queueEvents(t, s, c, 2)
		box := &inbox{fails: map[int64]int{ids[0]: 3}}
		d := newDispatcher(t, s, c, drift.DispatcherConfig{MaxAttempts: 2}, drift.Subscriber{Name: "hook", Deliver: box.deliver})
		_, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		c.Advance(time.Hour)
		rep, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Failed: 1, Dead: 1, Delivered: 1}, rep, "dead on the second failure; the next event goes on")
		assert.Equal(t, ids[1:], box.ids())

		dead, err := s.ListDeadEvents(t.Context(), storage.ListDeadEventsParams{Subscriber: "hook", Limit: 10})
		require.NoError(t, err)
		require.Len(t, dead, 1)
		assert.Equal(t, ids[0], dead[0].Event.ID)
		assert.Equal(t, 2, dead[0].Attempts)

		// An operator retries it: it fails once more (still dead), then
		// is retried again and delivered, with its own ID.
		_, err = s.RetryDeadEvent(t.Context(), "hook", ids[0])
		require.NoError(t, err)
		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Failed: 1}, rep)
		_, err = s.RetryDeadEvent(t.Context(), "hook", ids[0])
		require.NoError(t, err)
		rep, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, drift.DispatchReport{Delivered: 1}, rep)
		assert.Equal(t, []int64{ids[1], ids[0]}, box.ids())
		dead, err = s.ListDeadEvents(t.Context(), storage.ListDeadEventsParams{Subscriber: "hook", Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, dead)
	})
}

func TestDispatcherOneDelivererPerSubscriber(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		queueEvents(t, s, c, 1)
		ok, err := s.AcquireLease(t.Context(), storage.LeaseParams{Name: drift.EventLeasePrefix + "hook", Holder: "other-replica", TTL: time.Hour})
		require.NoError(t, err)
		require.True(t, ok)
		box, free := &inbox{}, &inbox{}
		d := newDispatcher(t, s, c, drift.DispatcherConfig{Holder: "me"},
			drift.Subscriber{Name: "hook", Deliver: box.deliver}, drift.Subscriber{Name: "free", Deliver: free.deliver})
		rep, err := d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"hook"}, rep.Busy)
		assert.Empty(t, box.ids(), "another replica delivers to hook")
		assert.NotEmpty(t, free.ids())

		require.NoError(t, s.ReleaseLease(t.Context(), drift.EventLeasePrefix+"hook", "other-replica"))
		_, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, allEventIDs(t, s), box.ids())
	})
}

func TestDispatcherPrunesDelivered(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		queueEvents(t, s, c, 2)
		box := &inbox{}
		d := newDispatcher(t, s, c, drift.DispatcherConfig{RetainDelivered: time.Hour}, drift.Subscriber{Name: "hook", Deliver: box.deliver})
		n, err := d.Prune(t.Context())
		require.NoError(t, err)
		assert.Zero(t, n)
		c.Advance(2 * time.Hour)
		n, err = d.Prune(t.Context())
		require.NoError(t, err)
		assert.Zero(t, n, "not delivered yet: kept however old")
		_, err = d.RunOnce(t.Context())
		require.NoError(t, err)
		n, err = d.Prune(t.Context())
		require.NoError(t, err)
		assert.Equal(t, len(box.ids()), n)
		assert.Empty(t, allEventIDs(t, s))
	})
}

func TestDispatcherStopsWithContext(t *testing.T) {
	s := storeFactories[0].new(t)
	c := newClock()
	queueEvents(t, s, c, 2)
	ctx, cancel := context.WithCancel(t.Context())
	d := newDispatcher(t, s, c, drift.DispatcherConfig{}, drift.Subscriber{Name: "hook", Deliver: func(context.Context, tracking.Event) error {
		cancel()
		return nil
	}})
	_, err := d.RunOnce(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	subs, err := s.ListSubscriptions(t.Context())
	require.NoError(t, err)
	assert.Zero(t, subs[0].AfterID, "an outcome seen after the stop is not recorded: it is delivered again")
	require.ErrorIs(t, d.Run(ctx), context.Canceled)
}

func TestNewDispatcherRejectsBadSubscribers(t *testing.T) {
	s := storeFactories[0].new(t)
	ok := func(context.Context, tracking.Event) error { return nil }
	for name, subs := range map[string][]drift.Subscriber{
		"bad name":  {{Name: "Slack!", Deliver: ok}},
		"no func":   {{Name: "slack"}},
		"duplicate": {{Name: "slack", Deliver: ok}, {Name: "slack", Deliver: ok}},
	} {
		_, err := drift.NewDispatcher(s, subs, nil)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
	}
	_, err := drift.NewDispatcher(nil, nil, nil)
	assert.True(t, errors.Is(err, tracking.ErrInvalidArgument))
}

// TestCoreImportsNoTelemetry holds DESIGN §10: Prometheus and
// OpenTelemetry stay in drift/driftprom and drift/drifttrace, which the
// core never imports.
func TestCoreImportsNoTelemetry(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	core := []string{"tracking", "storage", "storage/memstore", "storage/bunstore", "resolver", "drift", "drift/notify", "adminhttp"}
	args := []string{"list", "-deps"}
	for _, p := range core {
		args = append(args, "github.com/plugindrift/plugindrift/"+p)
	}
	out, err := exec.CommandContext(t.Context(), gobin, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/prometheus/", "go.opentelemetry.io/", "plugindrift/drift/driftprom", "plugindrift/drift/drifttrace"} {
			assert.NotContains(t, dep, banned, "a core package depends on %s", dep)
		}
	}
}
