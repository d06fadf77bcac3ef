package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// eventCases are the outbox's rules (DESIGN §10): each transition writes
// its events with the change, and delivery state behaves alike everywhere.
var eventCases = []testCase{
	{"EventsReconcileQueuesAndSupersedes", testEventsReconcile},
	{"EventsTagMovedAlarm", testEventsTagMoved},
	{"EventsHistoryRewrittenAlarm", testEventsHistoryRewritten},
	{"EventsRollback", testEventsRollback},
	{"EventsInstallChangesSupersede", testEventsInstallChanges},
	{"EventsApplyLifecycle", testEventsApply},
	{"EventsDismiss", testEventsDismiss},
	{"EventsRestore", testEventsRestore},
	{"EventsUpstreamHealth", testEventsUpstreamHealth},
	{"EventsNothingForNoChange", testEventsNoChange},
	{"EventsPayloadRedacted", testEventsRedacted},
	{"EventsOrderedUnderConcurrentWriters", testEventsConcurrent},
	{"DeliveryCursorAndDead", testDelivery},
	{"DeliveryRetryDead", testDeliveryRetryDead},
	{"DeliveryRejectsBadParams", testDeliveryBadParams},
	{"PruneEvents", testPruneEvents},
}

// events returns every event after afterID.
func (e *env) events(afterID int64) []tracking.Event {
	e.t.Helper()
	var out []tracking.Event
	for {
		evs, err := e.store.ListEvents(e.ctx, storage.ListEventsParams{AfterID: afterID, Limit: storage.MaxLimit})
		require.NoError(e.t, err)
		out = append(out, evs...)
		if len(evs) < storage.MaxLimit {
			return out
		}
		afterID = evs[len(evs)-1].ID
	}
}

// mark is the ID of the last event so far.
func (e *env) mark() int64 {
	evs := e.events(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].ID
}

// eventShape is what a case asserts of an event besides its payload.
type eventShape struct {
	Type     tracking.EventType
	UpdateID int64
	At       time.Time
}

func shapes(evs []tracking.Event) []eventShape {
	out := make([]eventShape, len(evs))
	for i, ev := range evs {
		out[i] = eventShape{ev.Type, ev.UpdateID, ev.At}
	}
	return out
}

// payloadUpdate decodes an update event's payload.
func payloadUpdate(t *testing.T, ev tracking.Event) tracking.Update {
	t.Helper()
	var u tracking.Update
	require.NoError(t, json.Unmarshal(ev.Payload, &u), "payload of event %d: %s", ev.ID, ev.Payload)
	assert.Equal(t, u.ID, ev.UpdateID)
	assert.Equal(t, u.WorkspaceID, ev.WorkspaceID)
	assert.Equal(t, u.PluginName, ev.PluginName)
	return u
}

func testEventsReconcile(t *testing.T, e *env) {
	key := e.key(srcA, "tag:latest")
	e.install("ws-1", "p", key, sha(1), "v1.0.0", t0)
	e.install("ws-2", "p", key, sha(1), "v1.0.0", t0)
	e.install("ws-3", "p", key, sha(3), "v1.2.0", t0)
	require.Empty(t, e.events(0), "installing writes no event")

	e.reconcile(key, sha(2), "v1.1.0", t0.Add(time.Minute))
	evs := e.events(0)
	u1, u2 := e.only("ws-1", "p"), e.only("ws-2", "p")
	require.Equal(t, []eventShape{
		{tracking.EventUpdateQueued, u1.ID, t0.Add(time.Minute)},
		{tracking.EventUpdateQueued, u2.ID, t0.Add(time.Minute)},
	}, shapes(evs[:2]))
	queued3 := e.only("ws-3", "p")
	assert.Len(t, evs, 3)
	assert.Equal(t, queued3.ID, evs[2].UpdateID)
	assert.Equal(t, u1, payloadUpdate(t, evs[0]), "the payload is the entry after the change")
	assert.Less(t, evs[0].ID, evs[1].ID)

	// Upstream moves on: each open entry is superseded and a new one
	// queued, both in that one call; ws-3 reaches the commit.
	mark := e.mark()
	e.reconcile(key, sha(3), "v1.2.0", t0.Add(2*time.Minute))
	evs = e.events(mark)
	var superseded, queued []tracking.Update
	for _, ev := range evs {
		u := payloadUpdate(t, ev)
		switch ev.Type {
		case tracking.EventUpdateSuperseded:
			assert.Equal(t, tracking.StatusSuperseded, u.Status)
			superseded = append(superseded, u)
		case tracking.EventUpdateQueued:
			queued = append(queued, u)
		default:
			t.Errorf("unexpected event %s", ev.Type)
		}
		assert.Equal(t, t0.Add(2*time.Minute), ev.At)
		assert.Equal(t, e.get(u.ID), u, "payload of %s", ev.Type)
	}
	require.Len(t, superseded, 3)
	assert.Len(t, queued, 2)
	reasons := map[int64]string{}
	for _, u := range superseded {
		reasons[u.ID] = u.Reason
	}
	assert.Equal(t, map[int64]string{u1.ID: tracking.ReasonNewerUpstream, u2.ID: tracking.ReasonNewerUpstream, queued3.ID: tracking.ReasonUpToDate}, reasons)
}

func testEventsTagMoved(t *testing.T, e *env) {
	key := e.key(srcA, "tag:v1.0.0")
	e.install("ws", "p", key, sha(1), "v1.0.0", t0)
	e.reconcile(key, sha(2), "v1.0.0", t0)
	u := e.only("ws", "p")
	evs := e.events(0)
	assert.Equal(t, []eventShape{
		{tracking.EventUpdateQueued, u.ID, t0},
		{tracking.EventAlarmTagMoved, u.ID, t0},
	}, shapes(evs))
	for _, ev := range evs {
		assert.Equal(t, u, payloadUpdate(t, ev))
	}

	// A branch's new commit raises no alarm.
	mark := e.mark()
	branch := e.key(srcB, "branch:main")
	e.install("ws", "q", branch, sha(1), "", t0)
	e.reconcile(branch, sha(2), "", t0)
	assert.Equal(t, []eventShape{{tracking.EventUpdateQueued, e.only("ws", "q").ID, t0}}, shapes(e.events(mark)))
}

// testEventsHistoryRewritten: a queued history-rewritten entry writes
// alarm.history_rewritten beside its update.queued, as tag-moved does; the
// installs the force-push did not leave behind raise no alarm.
func testEventsHistoryRewritten(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "gone", key, sha(1), "", t0)
	e.install("ws", "kept", key, sha(2), "", t0)
	_, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: sha(3), Now: t0, Rewritten: []string{sha(1)}})
	require.NoError(t, err)
	gone, kept := e.only("ws", "gone"), e.only("ws", "kept")
	require.Equal(t, tracking.KindHistoryRewritten, gone.Kind)
	evs := e.events(0)
	assert.Equal(t, []eventShape{
		{tracking.EventUpdateQueued, gone.ID, t0},
		{tracking.EventAlarmHistoryRewritten, gone.ID, t0},
		{tracking.EventUpdateQueued, kept.ID, t0},
	}, shapes(evs))
	for _, ev := range evs {
		assert.Equal(t, e.get(ev.UpdateID), payloadUpdate(t, ev), "payload of %s", ev.Type)
	}
}

// testEventsRollback: QueueRollback writes update.superseded for the open
// entry it retires and update.rolled_back for the rollback entry, in its
// transaction; the rollback's completion is update.applied; a refused
// rollback, a hold release and a ring change write nothing.
func testEventsRollback(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(2), "", t0)
	e.reconcile(key, sha(3), "", t0)
	open := e.only("ws", "p")

	mark := e.mark()
	at := t0.Add(time.Minute)
	p := storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), Actor: "alice", Reason: "bad", Token: "tok", At: at, TTL: time.Hour}
	rb, hold, err := e.store.QueueRollback(e.ctx, p)
	require.NoError(t, err)
	evs := e.events(mark)
	require.Equal(t, []eventShape{
		{tracking.EventUpdateSuperseded, open.ID, at},
		{tracking.EventUpdateRolledBack, rb.ID, at},
	}, shapes(evs))
	retired := payloadUpdate(t, evs[0])
	assert.Equal(t, tracking.ReasonRolledBack, retired.Reason)
	assert.Equal(t, e.get(open.ID), retired)
	rolled := payloadUpdate(t, evs[1])
	assert.Equal(t, tracking.KindRollback, rolled.Kind)
	assert.Equal(t, tracking.StatusApplying, rolled.Status)
	assert.Equal(t, sha(2), rolled.FromSHA, "the commit rolled back from")
	assert.Equal(t, sha(1), rolled.ToSHA)

	mark = e.mark()
	_, _, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(4), Actor: "bob", Token: "tok2", At: at, TTL: time.Hour})
	require.ErrorIs(t, err, tracking.ErrBusy)
	assert.Empty(t, e.events(mark), "a refused rollback writes nothing")

	doneAt := at.Add(time.Second)
	done, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: rb.ID, Token: "tok", Actor: "alice", At: doneAt})
	require.NoError(t, err)
	evs = e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateApplied, rb.ID, doneAt}}, shapes(evs))
	assert.Equal(t, done, payloadUpdate(t, evs[0]))

	mark = e.mark()
	_, _, err = e.store.QueueRollback(e.ctx, storage.QueueRollbackParams{WorkspaceID: "ws", PluginName: "p", ToSHA: sha(1), Actor: "bob", Token: "tok3", At: doneAt, TTL: time.Hour})
	require.ErrorIs(t, err, tracking.ErrConflict)
	_, err = e.store.ReleaseHold(e.ctx, storage.ReleaseHoldParams{ID: hold.ID, Actor: "alice", At: doneAt})
	require.NoError(t, err)
	_, err = e.store.SetInstallRing(e.ctx, "ws", "p", 2)
	require.NoError(t, err)
	assert.Empty(t, e.events(mark), "no entry changed")
}

func testEventsInstallChanges(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	u := e.queued("ws-1")
	mark := e.mark()
	// Reinstalling the same commit changes nothing; another commit
	// supersedes.
	e.install("ws-1", "p", key, sha(1), "", t0.Add(time.Second))
	assert.Empty(t, e.events(mark))
	e.install("ws-1", "p", key, sha(2), "", t0.Add(time.Minute))
	evs := e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateSuperseded, u.ID, t0.Add(time.Minute)}}, shapes(evs))
	got := payloadUpdate(t, evs[0])
	assert.Equal(t, tracking.ReasonUpToDate, got.Reason)
	assert.Equal(t, e.get(u.ID), got)

	v := e.queued("ws-2")
	mark = e.mark()
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-2", "p", t0.Add(time.Hour)))
	evs = e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateSuperseded, v.ID, t0.Add(time.Hour)}}, shapes(evs))
	assert.Equal(t, tracking.ReasonUninstalled, payloadUpdate(t, evs[0]).Reason)

	// Deleting an install without an open entry writes nothing.
	e.install("ws-3", "p", key, sha(1), "", t0)
	mark = e.mark()
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-3", "p", t0))
	assert.Empty(t, e.events(mark))
}

func testEventsApply(t *testing.T, e *env) {
	u := e.queued("ws")
	mark := e.mark()
	_, err := e.claim(u.ID, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, e.events(mark), "a claim is not a queue transition")

	failedAt := t0.Add(time.Second)
	_, err = e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: e.token(u.ID), Message: "disk full", At: failedAt})
	require.NoError(t, err)
	evs := e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateApplyFailed, u.ID, failedAt}}, shapes(evs))
	failed := payloadUpdate(t, evs[0])
	assert.Equal(t, tracking.StatusPending, failed.Status)
	assert.Equal(t, 1, failed.Attempts)
	assert.Equal(t, "disk full", failed.LastError)

	mark = e.mark()
	_, err = e.claim(u.ID, time.Minute)
	require.NoError(t, err)
	at := t0.Add(time.Minute)
	done, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: at, RestartError: "restart owed"})
	require.NoError(t, err)
	evs = e.events(mark)
	// The restart still owed is not a failed restart: only applied.
	require.Equal(t, []eventShape{{tracking.EventUpdateApplied, u.ID, at}}, shapes(evs))
	assert.Equal(t, done, payloadUpdate(t, evs[0]))

	// A retried completion by the holder writes nothing more.
	mark = e.mark()
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: e.token(u.ID), Actor: "bob", At: at})
	require.NoError(t, err)
	assert.Empty(t, e.events(mark))

	got, err := e.store.SetRestartError(e.ctx, u.ID, "restart: exit 1")
	require.NoError(t, err)
	evs = e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateRestartFailed, u.ID, at}}, shapes(evs), "dated by the apply")
	assert.Equal(t, got, payloadUpdate(t, evs[0]))

	mark = e.mark()
	_, err = e.store.SetRestartError(e.ctx, u.ID, "")
	require.NoError(t, err)
	assert.Empty(t, e.events(mark), "a successful restart is no event")
}

func testEventsDismiss(t *testing.T, e *env) {
	u := e.queued("ws")
	mark := e.mark()
	p := storage.DismissUpdateParams{ID: u.ID, Actor: "carol", Reason: "breaks our theme", At: t0.Add(time.Minute)}
	got, err := e.store.DismissUpdate(e.ctx, p)
	require.NoError(t, err)
	evs := e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateDismissed, u.ID, t0.Add(time.Minute)}}, shapes(evs))
	assert.Equal(t, got, payloadUpdate(t, evs[0]))

	mark = e.mark()
	_, err = e.store.DismissUpdate(e.ctx, p)
	require.NoError(t, err)
	assert.Empty(t, e.events(mark), "dismissing again changes nothing")
}

func testEventsRestore(t *testing.T, e *env) {
	u := e.queued("ws")
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "carol", Reason: "later", At: t0.Add(time.Minute)})
	require.NoError(t, err)
	mark := e.mark()
	at := t0.Add(time.Hour)
	got, err := e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: u.ID, At: at})
	require.NoError(t, err)
	evs := e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpdateRestored, u.ID, at}}, shapes(evs))
	assert.Equal(t, got, payloadUpdate(t, evs[0]))

	mark = e.mark()
	_, err = e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: u.ID, At: at.Add(time.Hour)})
	require.NoError(t, err)
	assert.Empty(t, e.events(mark), "restoring a pending entry changes nothing")

	// A refused restore writes nothing either.
	_, err = e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID, Actor: "carol", At: at})
	require.NoError(t, err)
	e.reconcile(e.key(srcA, "branch:main"), sha(9), "", at.Add(time.Minute))
	mark = e.mark()
	_, err = e.store.RestoreUpdate(e.ctx, storage.RestoreUpdateParams{ID: u.ID, At: at.Add(2 * time.Hour)})
	require.ErrorIs(t, err, tracking.ErrConflict)
	assert.Empty(t, e.events(mark), "a refused restore is no event")
}

func testEventsUpstreamHealth(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.reconcile(key, sha(1), "", t0)
	for i := 1; i < tracking.FailingThreshold; i++ {
		require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", t0.Add(time.Duration(i)*time.Minute)))
	}
	assert.Empty(t, e.events(0), "below the threshold")
	failAt := t0.Add(time.Hour)
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", failAt))
	evs := e.events(0)
	require.Equal(t, []eventShape{{tracking.EventUpstreamFailing, 0, failAt}}, shapes(evs))
	var up tracking.Upstream
	require.NoError(t, json.Unmarshal(evs[0].Payload, &up))
	assert.Equal(t, e.upstream(key), up)
	assert.Equal(t, tracking.FailingThreshold, up.ConsecutiveFailures)
	assert.Empty(t, evs[0].WorkspaceID)

	mark := e.mark()
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", failAt.Add(time.Minute)))
	assert.Empty(t, e.events(mark), "still failing: one event per episode")

	// The first success (nothing moved, the steady state) recovers it.
	okAt := failAt.Add(time.Hour)
	assert.Equal(t, storage.ReconcileResult{Installs: 1}, e.reconcile(key, sha(1), "", okAt))
	evs = e.events(mark)
	require.Equal(t, []eventShape{{tracking.EventUpstreamRecovered, 0, okAt}}, shapes(evs))
	require.NoError(t, json.Unmarshal(evs[0].Payload, &up))
	assert.Equal(t, e.upstream(key), up)
	assert.Zero(t, up.ConsecutiveFailures)

	mark = e.mark()
	e.reconcile(key, sha(1), "", okAt.Add(time.Hour))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", okAt.Add(2*time.Hour)))
	e.reconcile(key, sha(1), "", okAt.Add(3*time.Hour))
	assert.Empty(t, e.events(mark), "a failure below the threshold and its recovery are no events")
}

func testEventsNoChange(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	u := e.queued("ws")
	mark := e.mark()
	e.reconcile(key, sha(2), "", t0.Add(time.Hour)) // touch only
	_, err := e.store.DismissUpdate(e.ctx, storage.DismissUpdateParams{ID: u.ID + 1000, Actor: "a", At: t0})
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	_, err = e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: "nobody", Message: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)
	_, err = e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: u.ID, Token: "nobody", Actor: "x", At: t0})
	assert.ErrorIs(t, err, tracking.ErrClaimLost)
	_, err = e.store.SetRestartError(e.ctx, u.ID, "boom")
	assert.ErrorIs(t, err, tracking.ErrConflict)
	_, err = e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: "HEAD", Now: t0})
	assert.Error(t, err)
	assert.Empty(t, e.events(mark), "refused and idle calls write no event")
}

func testEventsRedacted(t *testing.T, e *env) {
	u := e.queued("ws")
	mark := e.mark()
	_, err := e.claim(u.ID, time.Minute)
	require.NoError(t, err)
	const secret = "hunter2-s3cret"
	_, err = e.store.ReleaseClaim(e.ctx, storage.ReleaseClaimParams{ID: u.ID, Token: e.token(u.ID),
		Message: "clone https://deploy:" + secret + "@git.example.com/a.git failed", At: t0})
	require.NoError(t, err)
	evs := e.events(mark)
	require.Len(t, evs, 1)
	assert.NotContains(t, string(evs[0].Payload), secret)
	assert.Contains(t, string(evs[0].Payload), "git.example.com", "the rest of the message stays")
}

// testEventsConcurrent: many writers at once; the IDs a reader sees never
// leave a gap that is filled later (on Postgres the bunstore tests also
// hold commits back on purpose).
func testEventsConcurrent(t *testing.T, e *env) {
	const writers, perWriter = 4, 5
	var wg sync.WaitGroup
	stop := make(chan struct{})
	seen := make(chan []tracking.Event, 1)
	go func() {
		var got []tracking.Event
		var after int64
		for {
			evs, err := e.store.ListEvents(e.ctx, storage.ListEventsParams{AfterID: after, Limit: storage.MaxLimit})
			if err == nil && len(evs) > 0 {
				got = append(got, evs...)
				after = evs[len(evs)-1].ID
			}
			select {
			case <-stop:
				evs, _ := e.store.ListEvents(e.ctx, storage.ListEventsParams{AfterID: after, Limit: storage.MaxLimit})
				seen <- append(got, evs...)
				return
			default:
			}
		}
	}()
	for w := range writers {
		wg.Go(func() {
			key := e.key(fmt.Sprintf("github://acme/w%d", w), "branch:main")
			for i := range perWriter {
				ws := fmt.Sprintf("ws-%d", i)
				if _, err := e.store.UpsertInstall(e.ctx, tracking.Install{WorkspaceID: ws, PluginName: fmt.Sprintf("p%d", w), Source: key.Source, Ref: key.Ref, InstalledSHA: sha(1), UpdatedAt: t0}); err != nil {
					t.Error(err)
					return
				}
				if _, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: sha(i + 2), Now: t0}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	got := <-seen
	all := e.events(0)
	assert.Equal(t, len(all), len(got), "the cursor reader saw every event")
	ids := map[int64]bool{}
	for _, ev := range got {
		assert.False(t, ids[ev.ID], "event %d seen twice", ev.ID)
		ids[ev.ID] = true
	}
	for _, ev := range all {
		assert.True(t, ids[ev.ID], "event %d (%s) skipped by the cursor", ev.ID, ev.Type)
	}
}

func testDelivery(t *testing.T, e *env) {
	for i := range 3 {
		e.queued(fmt.Sprintf("ws-%d", i))
	}
	evs := e.events(0)
	require.Len(t, evs, 3)

	sub, err := e.store.EnsureSubscription(e.ctx, "hook")
	require.NoError(t, err)
	assert.Equal(t, storage.Subscription{Name: "hook"}, sub)
	again, err := e.store.EnsureSubscription(e.ctx, "hook")
	require.NoError(t, err)
	assert.Equal(t, sub, again)

	rec := func(p storage.RecordDeliveryParams) storage.Subscription {
		t.Helper()
		p.Subscriber = "hook"
		sub, err := e.store.RecordDelivery(e.ctx, p)
		require.NoError(t, err)
		return sub
	}
	sub = rec(storage.RecordDeliveryParams{EventID: evs[0].ID, Outcome: storage.Delivered, At: t0})
	assert.Equal(t, storage.Subscription{Name: "hook", AfterID: evs[0].ID}, sub)

	retry := t0.Add(time.Minute)
	sub = rec(storage.RecordDeliveryParams{EventID: evs[1].ID, Outcome: storage.Failed, Message: "503", At: t0, RetryAt: retry})
	assert.Equal(t, storage.Subscription{Name: "hook", AfterID: evs[0].ID, Attempts: 1, LastError: "503", RetryAt: retry}, sub)
	sub = rec(storage.RecordDeliveryParams{EventID: evs[1].ID, Outcome: storage.Failed, Message: "timeout", At: t0, RetryAt: retry})
	assert.Equal(t, 2, sub.Attempts)

	deadAt := t0.Add(time.Hour)
	sub = rec(storage.RecordDeliveryParams{EventID: evs[1].ID, Outcome: storage.Dead, Message: "gave up", At: deadAt})
	assert.Equal(t, storage.Subscription{Name: "hook", AfterID: evs[1].ID}, sub, "the cursor moves past a dead event")

	// A stale outcome (a deliverer that lost its lease) changes nothing.
	sub = rec(storage.RecordDeliveryParams{EventID: evs[0].ID, Outcome: storage.Failed, Message: "late", At: t0})
	assert.Equal(t, storage.Subscription{Name: "hook", AfterID: evs[1].ID}, sub)

	dead, err := e.store.ListDeadEvents(e.ctx, storage.ListDeadEventsParams{Subscriber: "hook", Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []storage.DeadEvent{{Subscriber: "hook", Event: evs[1], Attempts: 3, LastError: "gave up", DeadAt: deadAt}}, dead)

	_, err = e.store.EnsureSubscription(e.ctx, "audit")
	require.NoError(t, err)
	subs, err := e.store.ListSubscriptions(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []storage.Subscription{
		{Name: "audit", Pending: 3},
		{Name: "hook", AfterID: evs[1].ID, Pending: 1, Dead: 1},
	}, subs)

	_, err = e.store.RecordDelivery(e.ctx, storage.RecordDeliveryParams{Subscriber: "nobody", EventID: evs[0].ID, Outcome: storage.Delivered, At: t0})
	assert.ErrorIs(t, err, tracking.ErrNotFound)
}

func testDeliveryRetryDead(t *testing.T, e *env) {
	e.queued("ws")
	evs := e.events(0)
	require.Len(t, evs, 1)
	_, err := e.store.EnsureSubscription(e.ctx, "hook")
	require.NoError(t, err)
	_, err = e.store.RetryDeadEvent(e.ctx, "hook", evs[0].ID)
	assert.ErrorIs(t, err, tracking.ErrNotFound, "not dead")
	_, err = e.store.RecordDelivery(e.ctx, storage.RecordDeliveryParams{Subscriber: "hook", EventID: evs[0].ID, Outcome: storage.Dead, Message: "410", At: t0})
	require.NoError(t, err)

	d, err := e.store.RetryDeadEvent(e.ctx, "hook", evs[0].ID)
	require.NoError(t, err)
	assert.True(t, d.Retrying)
	retrying, err := e.store.ListDeadEvents(e.ctx, storage.ListDeadEventsParams{Subscriber: "hook", Retrying: true, Limit: 10})
	require.NoError(t, err)
	require.Len(t, retrying, 1)
	assert.Equal(t, d, retrying[0])

	// The retry fails: still dead, no longer retrying.
	at := t0.Add(time.Hour)
	_, err = e.store.RecordDelivery(e.ctx, storage.RecordDeliveryParams{Subscriber: "hook", EventID: evs[0].ID, Outcome: storage.Failed, Message: "500", At: at})
	require.NoError(t, err)
	dead, err := e.store.ListDeadEvents(e.ctx, storage.ListDeadEventsParams{Subscriber: "hook", Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []storage.DeadEvent{{Subscriber: "hook", Event: evs[0], Attempts: 2, LastError: "500", DeadAt: at}}, dead)

	// Retried again and delivered: no longer dead.
	_, err = e.store.RetryDeadEvent(e.ctx, "hook", evs[0].ID)
	require.NoError(t, err)
	_, err = e.store.RecordDelivery(e.ctx, storage.RecordDeliveryParams{Subscriber: "hook", EventID: evs[0].ID, Outcome: storage.Delivered, At: at})
	require.NoError(t, err)
	dead, err = e.store.ListDeadEvents(e.ctx, storage.ListDeadEventsParams{Subscriber: "hook", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, dead)
}

func testDeliveryBadParams(t *testing.T, e *env) {
	for _, name := range []string{"", "Slack", "-x", "a b", strings.Repeat("a", 65), "ws/../x"} {
		_, err := e.store.EnsureSubscription(e.ctx, name)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%q", name)
	}
	subs, err := e.store.ListSubscriptions(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, subs, "a refused name writes nothing")
	for _, p := range []storage.RecordDeliveryParams{
		{Subscriber: "hook", EventID: 0, Outcome: storage.Delivered},
		{Subscriber: "hook", EventID: 1, Outcome: "lost"},
		{Subscriber: "", EventID: 1, Outcome: storage.Delivered},
	} {
		_, err := e.store.RecordDelivery(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
	}
	_, err = e.store.ListEvents(e.ctx, storage.ListEventsParams{Limit: 0})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	_, err = e.store.ListEvents(e.ctx, storage.ListEventsParams{AfterID: -1, Limit: 1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	_, err = e.store.ListDeadEvents(e.ctx, storage.ListDeadEventsParams{Subscriber: "hook", Limit: storage.MaxLimit + 1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
}

func testPruneEvents(t *testing.T, e *env) {
	for i := range 4 {
		e.queued(fmt.Sprintf("ws-%d", i))
	}
	evs := e.events(0)
	require.Len(t, evs, 4)
	for _, name := range []string{"a", "b"} {
		_, err := e.store.EnsureSubscription(e.ctx, name)
		require.NoError(t, err)
	}
	deliver := func(name string, ev tracking.Event, o storage.DeliveryOutcome) {
		_, err := e.store.RecordDelivery(e.ctx, storage.RecordDeliveryParams{Subscriber: name, EventID: ev.ID, Outcome: o, At: t0})
		require.NoError(t, err)
	}
	// a is past all four (the second dead); b past the first two.
	deliver("a", evs[0], storage.Delivered)
	deliver("a", evs[1], storage.Dead)
	deliver("a", evs[3], storage.Delivered)
	deliver("b", evs[1], storage.Delivered)

	n, err := e.store.PruneEvents(e.ctx, storage.PruneEventsParams{Before: t0})
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is older than t0")
	n, err = e.store.PruneEvents(e.ctx, storage.PruneEventsParams{Before: t0.Add(time.Second)})
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the first: the second is dead for a, the rest wait for b")
	left := e.events(0)
	require.Len(t, left, 3)
	assert.Equal(t, evs[1:], left)
}
