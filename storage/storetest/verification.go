package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// verificationCases hold every backend to the same record of signature
// checks (DESIGN §10): where Reconcile puts p.Verification, what keeps it,
// and the override CompleteApply records.
var verificationCases = []testCase{
	{"VerificationNewEntriesCarryIt", testVerificationNewEntries},
	{"VerificationOpenEntryTakesTheLatest", testVerificationOpenEntry},
	{"VerificationSupersededKeepsItsOwn", testVerificationSuperseded},
	{"VerificationUpstreamRowKeepsIt", testVerificationUpstream},
	{"VerificationCompleteApplyRecordsOverride", testVerificationOverride},
	{"VerificationInvalidChangesNothing", testVerificationInvalid},
}

// reconcileVerified is reconcile with a verification of the commit.
func (e *env) reconcileVerified(key tracking.UpstreamKey, commit string, v tracking.Verification, at time.Time) storage.ReconcileResult {
	e.t.Helper()
	res, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: key, SHA: commit, Validator: "v-" + commit[:8], Now: at, Verification: v})
	require.NoError(e.t, err)
	return res
}

// Verifications the cases store. checkRequired blocks and fills every
// field, each text at its bound (and with a quote and non-ASCII text, so
// the stores must bind it, not splice it); checkAdvisory is a finding that
// does not block.
var (
	checkRequired = tracking.Verification{
		State:    tracking.VerificationUntrustedSigner,
		Signer:   "SHA256:" + strings.Repeat("k", tracking.MaxSignerLen-len("SHA256:")),
		By:       "plugindrift's own check",
		Detail:   "tag v1.2.0: signature by a key no trusted signer holds — " + strings.Repeat("d", tracking.MaxDetailLen-len("tag v1.2.0: signature by a key no trusted signer holds — ")),
		Required: true,
		Policy:   strings.Repeat("p", tracking.MaxPolicyLen),
	}
	checkAdvisory = tracking.Verification{
		State: tracking.VerificationVerified, Signer: "Ann Lee <ann@example.com>", By: "github",
		Detail: "commit signed by ann@example.com", Policy: "policy-2",
	}
)

func testVerificationNewEntries(t *testing.T, e *env) {
	require.NoError(t, checkRequired.Validate(), "the fixture is valid")
	require.True(t, checkRequired.Blocks())
	keyA, keyB, keyC := e.key(srcA, "branch:main"), e.key(srcB, "branch:main"), e.key(srcA, "branch:dev")
	e.install("ws-1", "a", keyA, sha(1), "v1.0.0", t0)
	e.install("ws-2", "a", keyA, sha(1), "v1.0.0", t0)
	e.install("ws-1", "b", keyB, sha(1), "", t0)
	e.install("ws-1", "c", keyC, sha(1), "", t0)

	at := t0.Add(time.Minute)
	e.reconcileVerified(keyA, sha(2), checkRequired, at)
	e.reconcileVerified(keyB, sha(2), checkAdvisory, at)
	e.reconcileVerified(keyC, sha(2), tracking.Verification{}, at)

	for _, c := range []struct {
		workspace, plugin string
		want              tracking.Verification
	}{
		{"ws-1", "a", checkRequired}, {"ws-2", "a", checkRequired},
		{"ws-1", "b", checkAdvisory},
		{"ws-1", "c", tracking.Verification{}},
	} {
		u := e.only(c.workspace, c.plugin)
		assert.Equal(t, c.want, u.Verification, "ListUpdates of %s/%s", c.workspace, c.plugin)
		assert.Equal(t, u, e.get(u.ID), "GetUpdate of %s/%s", c.workspace, c.plugin)
		assert.Empty(t, u.Override)
	}
	assert.Equal(t, tracking.VerificationNotChecked, e.only("ws-1", "c").Verification.State, "the zero verification reads back as not-checked")

	// Each entry's update.queued event carries the entry as stored, its
	// verification included.
	evs := e.events(0)
	require.Len(t, evs, 4)
	for _, ev := range evs {
		require.Equal(t, tracking.EventUpdateQueued, ev.Type)
		u := payloadUpdate(t, ev)
		assert.Equal(t, e.get(ev.UpdateID), u, "payload of event %d", ev.ID)
	}
	assert.Equal(t, checkRequired, payloadUpdate(t, evs[0]).Verification)
}

func testVerificationOpenEntry(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.install("ws", "q", key, sha(1), "", t0)
	e.reconcileVerified(key, sha(2), checkRequired, t0)
	p, q := e.only("ws", "p"), e.only("ws", "q")
	_, err := e.claim(q.ID, time.Hour)
	require.NoError(t, err)
	claimed := e.get(q.ID)
	mark := e.mark()

	// The same commit checked again under a changed policy: the open entry
	// takes the new verification with its LastSeenAt, in place.
	at := t0.Add(time.Minute)
	res := e.reconcileVerified(key, sha(2), checkAdvisory, at)
	assert.Equal(t, storage.ReconcileResult{Installs: 2}, res, "nothing queued or superseded")
	got := e.get(p.ID)
	want := p
	want.Verification, want.LastSeenAt = checkAdvisory, at
	assert.Equal(t, want, got, "only the verification and LastSeenAt change")
	assert.Equal(t, claimed, e.get(q.ID), "a live claim's entry is left to its holder, verification and all")
	assert.Empty(t, e.events(mark), "taking a verification is no transition and writes no event")

	// A policy that no longer applies shows at once too.
	e.reconcileVerified(key, sha(2), tracking.Verification{}, at.Add(time.Minute))
	assert.Equal(t, tracking.Verification{}, e.get(p.ID).Verification)
	assert.Equal(t, at.Add(time.Minute), e.get(p.ID).LastSeenAt)
}

func testVerificationSuperseded(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.install("ws", "q", key, sha(1), "", t0)
	e.reconcileVerified(key, sha(2), checkRequired, t0)
	old := e.only("ws", "p")

	// Upstream moves on: the superseded entry keeps the check of its own
	// commit; the new one carries the check of the new commit.
	mark := e.mark()
	res := e.reconcileVerified(key, sha(3), checkAdvisory, t0.Add(time.Minute))
	assert.Equal(t, storage.ReconcileResult{Installs: 2, Queued: 2, Superseded: 2}, res)
	got := e.get(old.ID)
	assert.Equal(t, tracking.StatusSuperseded, got.Status)
	assert.Equal(t, checkRequired, got.Verification)
	open := e.open("ws", "p")
	require.Len(t, open, 1)
	assert.Equal(t, checkAdvisory, open[0].Verification)
	for _, ev := range e.events(mark) {
		u := payloadUpdate(t, ev)
		switch ev.Type {
		case tracking.EventUpdateSuperseded:
			assert.Equal(t, checkRequired, u.Verification, "event %d", ev.ID)
		case tracking.EventUpdateQueued:
			assert.Equal(t, checkAdvisory, u.Verification, "event %d", ev.ID)
		default:
			t.Errorf("unexpected event %s", ev.Type)
		}
	}

	// The upstream goes back to the installed commit: Reconcile supersedes
	// the open entry up to date, and it keeps its verification whatever
	// the sweep's check of the installed commit says.
	res = e.reconcileVerified(key, sha(1), tracking.Verification{State: tracking.VerificationBadSignature, Policy: "policy-3"}, t0.Add(2*time.Minute))
	assert.Equal(t, storage.ReconcileResult{Installs: 2, Superseded: 2}, res)
	got = e.get(open[0].ID)
	assert.Equal(t, tracking.StatusSuperseded, got.Status)
	assert.Equal(t, tracking.ReasonUpToDate, got.Reason)
	assert.Equal(t, checkAdvisory, got.Verification)
}

func testVerificationUpstream(t *testing.T, e *env) {
	key := e.key(srcB, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	assert.Equal(t, tracking.Verification{}, e.upstream(key).Verification, "not checked before any Reconcile")

	// Nothing behind (the steady state): the row is the whole write.
	assert.Equal(t, storage.ReconcileResult{Installs: 1}, e.reconcileVerified(key, sha(1), checkAdvisory, t0))
	assert.Equal(t, checkAdvisory, e.upstream(key).Verification)
	e.reconcileVerified(key, sha(2), checkRequired, t0.Add(time.Minute))
	up := e.upstream(key)
	assert.Equal(t, checkRequired, up.Verification)
	ups, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []tracking.Upstream{up}, ups)

	// A failure keeps the last good resolution, its check included, and so
	// do the health events that report the row.
	for i := range tracking.FailingThreshold {
		require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, key, "timeout", t0.Add(time.Duration(2+i)*time.Minute)))
	}
	failing := e.upstream(key)
	assert.Equal(t, checkRequired, failing.Verification)
	mark := e.mark()
	e.reconcileVerified(key, sha(2), checkAdvisory, t0.Add(time.Hour))
	up = e.upstream(key)
	assert.Equal(t, checkAdvisory, up.Verification)
	evs := e.events(mark)
	require.Len(t, evs, 1)
	require.Equal(t, tracking.EventUpstreamRecovered, evs[0].Type)
	var payload tracking.Upstream
	require.NoError(t, json.Unmarshal(evs[0].Payload, &payload))
	assert.Equal(t, up, payload)
}

func testVerificationOverride(t *testing.T, e *env) {
	key := e.key(srcA, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	e.install("ws", "q", key, sha(1), "", t0)
	e.reconcileVerified(key, sha(2), tracking.Verification{State: tracking.VerificationUnsigned, By: "plugindrift", Required: true, Policy: "policy-1"}, t0)
	p, q := e.only("ws", "p"), e.only("ws", "q")
	for _, u := range []tracking.Update{p, q} {
		_, err := e.claim(u.ID, time.Minute)
		require.NoError(t, err)
	}
	mark := e.mark()

	const reason = "reviewed 0000002 by hand; the signing key's rotation is ticket OPS-12 — it's fine"
	at := t0.Add(time.Second)
	got, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: p.ID, Token: e.token(p.ID), Actor: "alice", At: at, Override: reason})
	require.NoError(t, err)
	assert.Equal(t, reason, got.Override)
	assert.Equal(t, p.Verification, got.Verification, "applying keeps the verification it was applied under")
	assert.Equal(t, got, e.get(p.ID))
	evs := e.events(mark)
	require.Len(t, evs, 1)
	assert.Equal(t, tracking.EventUpdateApplied, evs[0].Type)
	assert.Equal(t, got, payloadUpdate(t, evs[0]), "the applied event says who overrode and why")

	// A retry of the same completion returns the record as it was.
	again, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: p.ID, Token: e.token(p.ID), Actor: "alice", At: at.Add(time.Hour), Override: "another reason"})
	require.NoError(t, err)
	assert.Equal(t, got, again)

	// A hostile or huge override is refused and q stays applying.
	before := e.get(q.ID)
	for name, bad := range map[string]string{
		"too long":      strings.Repeat("r", tracking.MaxOverrideLen+1),
		"NUL":           "fine\x00then not",
		"escape":        "\x1b[31mred",
		"invalid UTF-8": "caf\xe9",
	} {
		_, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: q.ID, Token: e.token(q.ID), Actor: "bob", At: at, Override: bad})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
		assert.Equal(t, before, e.get(q.ID), "%s: nothing changed", name)
	}

	plain, err := e.store.CompleteApply(e.ctx, storage.CompleteApplyParams{ID: q.ID, Token: e.token(q.ID), Actor: "bob", At: at})
	require.NoError(t, err)
	assert.Empty(t, plain.Override, "no override given, none recorded")
	assert.Empty(t, e.get(q.ID).Override)
}

func testVerificationInvalid(t *testing.T, e *env) {
	key, bare := e.key(srcA, "branch:main"), e.key(srcB, "branch:main")
	e.install("ws", "p", key, sha(1), "", t0)
	before := e.upstream(key)
	for name, v := range map[string]tracking.Verification{
		"unknown state":       {State: "maybe"},
		"control in detail":   {State: tracking.VerificationUnsigned, Detail: "line one\nline two"},
		"control in signer":   {State: tracking.VerificationVerified, Signer: "ann\x00"},
		"over-long detail":    {State: tracking.VerificationUnsigned, Detail: strings.Repeat("d", tracking.MaxDetailLen+1)},
		"over-long policy":    {State: tracking.VerificationUnsigned, Policy: strings.Repeat("p", tracking.MaxPolicyLen+1)},
		"invalid UTF-8 by":    {State: tracking.VerificationUnsigned, By: "gith\xffub"},
		"valid but for a tab": {State: tracking.VerificationVerified, Signer: "ann", Detail: "ok\tok"},
	} {
		for _, k := range []tracking.UpstreamKey{key, bare} {
			_, err := e.store.Reconcile(e.ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Validator: "v", Now: t0.Add(time.Minute), Verification: v})
			assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%s on %s", name, k)
		}
	}
	assert.Empty(t, e.updates(storage.ListUpdatesParams{}), "no entry")
	assert.Equal(t, before, e.upstream(key), "the upstream row is as it was")
	_, err := e.store.GetUpstream(e.ctx, bare)
	assert.ErrorIs(t, err, tracking.ErrNotFound, "no upstream row for a key nothing tracks")
	assert.Empty(t, e.events(0), "no event")
}
