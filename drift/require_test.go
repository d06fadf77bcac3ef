package drift_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// queueJudged records an install of plugin following branch:main of src
// and checks that upstream with a Verifier that gives verdict under policy "policy-1",
// returning the queued entry.
func queueJudged(t *testing.T, s storage.Store, c *clock, plugin, src string, verdict tracking.Verification) tracking.Update {
	t.Helper()
	res := newFakeResolver()
	ver := newFakeVerifier()
	ver.judge(src, "policy-1", verdict)
	record(t, s, c, "ws", plugin, src, "branch:main", sha(1), "")
	res.set(src, "branch:main", sha(2), "")
	rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver}).Check(t.Context(), key(src, "branch:main"))
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
	us, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{WorkspaceID: "ws", PluginName: plugin, Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, us, 1)
	require.Equal(t, verdict.State, us[0].Verification.State)
	return us[0]
}

func eventCount(t *testing.T, s storage.Store) int {
	t.Helper()
	evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	return len(evs)
}

// TestApplyRefusesBlockedEntry: under require, Apply of an unverified
// commit is refused with ErrUnverified and changes nothing: no install, no
// attempt counted, no event.
func TestApplyRefusesBlockedEntry(t *testing.T) {
	c := newClock()
	s := memstore.New()
	u := queueJudged(t, s, c, "p", srcA, unsignedRequired)
	events := eventCount(t, s)
	rec := &recorder{}
	up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})

	for range 2 {
		_, err := up.Apply(t.Context(), u.ID, "alice")
		require.ErrorIs(t, err, drift.ErrUnverified)
		assert.Contains(t, err.Error(), "unsigned")
		assert.Contains(t, err.Error(), "commit has no signature")
	}
	got, err := s.GetUpdate(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got, "a refusal changes nothing")
	assert.Equal(t, tracking.StatusPending, got.Status)
	assert.Zero(t, got.Attempts)
	assert.Equal(t, events, eventCount(t, s), "a refusal writes no event")
	assert.Zero(t, rec.count(), "the installer is not called")
	in, err := s.GetInstall(t.Context(), "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA)
}

// TestApplyUnverifiedRecordsOverride: an operator's override installs the
// blocked commit and records who and why, on the entry and in the
// update.applied event; on an entry that is not blocked it is Apply and
// records no override.
func TestApplyUnverifiedRecordsOverride(t *testing.T) {
	c := newClock()
	s := memstore.New()
	u := queueJudged(t, s, c, "p", srcA, unsignedRequired)
	rec := &recorder{}
	up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})

	const why = "reviewed the diff by hand; the release bot's key is being rotated"
	done, err := up.ApplyUnverified(t.Context(), u.ID, "alice", why)
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, done.Status)
	assert.Equal(t, why, done.Override)
	assert.Equal(t, "alice", done.DecidedBy)
	require.Equal(t, 1, rec.count())
	assert.Equal(t, sha(2), rec.installs[0].SHA)
	got, err := s.GetUpdate(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, why, got.Override)
	in, err := s.GetInstall(t.Context(), "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(2), in.InstalledSHA)

	evs, err := s.ListEvents(t.Context(), storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	var applied []tracking.Event
	for _, ev := range evs {
		if ev.Type == tracking.EventUpdateApplied && ev.UpdateID == u.ID {
			applied = append(applied, ev)
		}
	}
	require.Len(t, applied, 1)
	var payload tracking.Update
	require.NoError(t, json.Unmarshal(applied[0].Payload, &payload))
	assert.Equal(t, why, payload.Override)
	assert.Equal(t, "alice", payload.DecidedBy)
	assert.Equal(t, tracking.VerificationUnsigned, payload.Verification.State)

	// Applying it again is idempotent: no second install.
	_, err = up.ApplyUnverified(t.Context(), u.ID, "bob", "again")
	require.NoError(t, err)
	assert.Equal(t, 1, rec.count())

	// Not blocked: an ordinary apply, nothing recorded as overridden.
	v := queueJudged(t, s, c, "q", srcB, verifiedRequired)
	done, err = up.ApplyUnverified(t.Context(), v.ID, "alice", why)
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, done.Status)
	assert.Empty(t, done.Override)
}

// TestApplyUnverifiedRejectsBadReason: an override needs a reason that can
// be stored as written; a refused one changes nothing.
func TestApplyUnverifiedRejectsBadReason(t *testing.T) {
	c := newClock()
	s := memstore.New()
	u := queueJudged(t, s, c, "p", srcA, unsignedRequired)
	events := eventCount(t, s)
	rec := &recorder{}
	up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})
	for _, reason := range []string{"", strings.Repeat("r", drift.MaxReasonLen+1), "nul\x00", "esc\x1b[31m", "del\x7f", "bad\xffutf8"} {
		_, err := up.ApplyUnverified(t.Context(), u.ID, "alice", reason)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%q", reason)
	}
	_, err := up.ApplyUnverified(t.Context(), u.ID, "", "reviewed")
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "the actor is checked too")
	got, err := s.GetUpdate(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got, "rejected input changed nothing")
	assert.Equal(t, events, eventCount(t, s))
	assert.Zero(t, rec.count())
}

// applyAttempts records the entries Updater.Apply was called for.
type applyAttempts struct {
	drift.NopObserver
	ids []int64
}

func (o *applyAttempts) Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error)) {
	o.ids = append(o.ids, id)
	return ctx, func(tracking.Update, error) {}
}

// TestAutoApplyRespectsVerification: auto-apply never takes a blocked
// entry, takes a verified one under require and an unverified one under
// record.
func TestAutoApplyRespectsVerification(t *testing.T) {
	const srcC = "git+https://git.example.net/c.git"
	c := newClock()
	s := memstore.New()
	blocked := queueJudged(t, s, c, "blocked", srcA, unsignedRequired)
	verified := queueJudged(t, s, c, "verified", srcB, verifiedRequired)
	recorded := queueJudged(t, s, c, "recorded", srcC, unsignedRecorded)
	rec := &recorder{}
	obs := &applyAttempts{}
	up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now, Observer: obs, AutoApply: func(tracking.Update) bool { return true }})

	n, err := up.AutoApply(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = up.AutoApply(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "the blocked entry is not taken on a later run either")
	var installed []string
	for _, r := range rec.installs {
		installed = append(installed, r.PluginName)
	}
	assert.ElementsMatch(t, []string{"verified", "recorded"}, installed)
	for id, want := range map[int64]tracking.UpdateStatus{blocked.ID: tracking.StatusPending, verified.ID: tracking.StatusApplied, recorded.ID: tracking.StatusApplied} {
		got, err := s.GetUpdate(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, want, got.Status, "update %d (%s)", id, got.PluginName)
		assert.Empty(t, got.Override, "auto-apply never overrides")
	}
	got, err := s.GetUpdate(t.Context(), blocked.ID)
	require.NoError(t, err)
	assert.Equal(t, blocked, got, "the blocked entry is untouched")
	assert.ElementsMatch(t, []int64{verified.ID, recorded.ID}, obs.ids, "auto-apply does not even try the blocked entry")
}

// blockOnClaim is a store in which a sweep makes entry id blocked just
// before Apply claims it: between Apply's read and its claim.
type blockOnClaim struct {
	storage.Store
	id int64
}

func (b *blockOnClaim) ClaimUpdate(ctx context.Context, p storage.ClaimUpdateParams) (tracking.Update, error) {
	if p.ID == b.id {
		e, err := b.Store.GetUpdate(ctx, p.ID)
		if err != nil {
			return e, err
		}
		v := unsignedRequired
		v.Policy = "policy-2"
		if _, err := b.Store.Reconcile(ctx, storage.ReconcileParams{Key: tracking.UpstreamKey{Source: e.Source, Ref: e.Ref}, SHA: e.ToSHA, Version: e.ToVersion, Now: e.LastSeenAt, Verification: v}); err != nil {
			return tracking.Update{}, err
		}
	}
	return b.Store.ClaimUpdate(ctx, p)
}

// TestApplyRefusesEntryBlockedAfterRead: an entry that becomes blocked
// between Apply's read and its claim is refused; the claim is handed back
// (the entry is pending again, its LastError says why) and nothing is
// installed. An override then applies it.
func TestApplyRefusesEntryBlockedAfterRead(t *testing.T) {
	c := newClock()
	inner := memstore.New()
	u := queueJudged(t, inner, c, "p", srcA, verifiedRequired)
	s := &blockOnClaim{Store: inner, id: u.ID}
	rec := &recorder{}
	up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})

	_, err := up.Apply(t.Context(), u.ID, "alice")
	require.ErrorIs(t, err, drift.ErrUnverified)
	assert.Zero(t, rec.count(), "the installer is not called")
	got, err := inner.GetUpdate(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusPending, got.Status, "the claim is handed back")
	assert.True(t, got.ClaimedUntil.IsZero())
	assert.Contains(t, got.LastError, drift.ErrUnverified.Error())
	assert.True(t, got.Verification.Blocks())
	in, err := inner.GetInstall(t.Context(), "ws", "p")
	require.NoError(t, err)
	assert.Equal(t, sha(1), in.InstalledSHA)

	done, err := up.ApplyUnverified(t.Context(), u.ID, "alice", "reviewed")
	require.NoError(t, err)
	assert.Equal(t, tracking.StatusApplied, done.Status)
	assert.Equal(t, "reviewed", done.Override)
	assert.Equal(t, 1, rec.count())
}

// TestApplyOfClosedBlockedEntryIsAConflict: a dismissed entry is a
// conflict whatever its verification says; the refusal for verification
// is only for an entry that could be applied.
func TestApplyOfClosedBlockedEntryIsAConflict(t *testing.T) {
	c := newClock()
	s := memstore.New()
	u := queueJudged(t, s, c, "p", srcA, unsignedRequired)
	up := newUpdater(t, s, &recorder{}, nil, &drift.UpdaterConfig{Now: c.Now})
	_, err := up.Dismiss(t.Context(), u.ID, "alice", "not this one")
	require.NoError(t, err)
	_, err = up.Apply(t.Context(), u.ID, "alice")
	assert.ErrorIs(t, err, tracking.ErrConflict)
	assert.NotErrorIs(t, err, drift.ErrUnverified)
}
