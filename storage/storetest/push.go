package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// pushCases are the push webhook cases, registered in cases.
var pushCases = []testCase{
	{"PushListRepositoryUpstreams", testPushListRepositoryUpstreams},
	{"PushRecordsCoalescedRequests", testPushCoalesces},
	{"PushReplayChangesNothing", testPushReplay},
	{"PushDeliveryExpires", testPushDeliveryExpires},
	{"PushClaimCompleteLifecycle", testPushClaimLifecycle},
	{"PushDuringCheckAsksAgain", testPushDuringCheck},
	{"PushHandBackUnchecked", testPushHandBack},
	{"PushRecheckRests", testPushRecheckRests},
	{"PushExpiredClaimIsRetaken", testPushClaimExpired},
	{"PushClaimRace", testPushClaimRace},
	{"PushInvalidInputChangesNothing", testPushInvalid},
}

func (e *env) repo(s string) tracking.RepoKey {
	e.t.Helper()
	k, err := tracking.ParseRepoURL(s)
	require.NoError(e.t, err)
	return k
}

func (e *env) repoUpstreams(repo string) []tracking.UpstreamKey {
	e.t.Helper()
	us, err := e.store.ListRepositoryUpstreams(e.ctx, storage.ListRepositoryUpstreamsParams{Repository: e.repo(repo), Limit: storage.MaxLimit})
	require.NoError(e.t, err)
	var keys []tracking.UpstreamKey
	for _, u := range us {
		keys = append(keys, u.Key)
	}
	return keys
}

func (e *env) push(p storage.RecordPushParams) storage.RecordPushResult {
	e.t.Helper()
	res, err := e.store.RecordPush(e.ctx, p)
	require.NoError(e.t, err)
	return res
}

func (e *env) claimChecks(holder string, ttl time.Duration, limit int) []storage.CheckRequest {
	e.t.Helper()
	rs, err := e.store.ClaimCheckRequests(e.ctx, storage.ClaimCheckRequestsParams{Holder: holder, TTL: ttl, Limit: limit})
	require.NoError(e.t, err)
	return rs
}

// complete completes a claimed request and says whether it stays for
// another check.
func (e *env) complete(p storage.CompleteCheckRequestParams) error {
	_, err := e.store.CompleteCheckRequest(e.ctx, p)
	return err
}

func testPushListRepositoryUpstreams(t *testing.T, e *env) {
	mainKey := e.key("git+https://github.com/acme/widget.git", "branch:main")
	latest := e.key("github://acme/widget", "tag:latest")
	ssh := e.key("git+ssh://git@github.com/Acme/widget", "semver:^1")
	other := e.key("github://acme/gadget", "tag:latest")
	e.install("ws-1", "w1", mainKey, sha(1), "", t0)
	e.install("ws-2", "w2", latest, sha(1), "v1.0.0", t0)
	e.install("ws-3", "w3", ssh, sha(1), "v1.0.0", t0)
	e.install("ws-3", "g", other, sha(1), "v1.0.0", t0)
	// An upstream nobody follows any more is not listed.
	gone := e.key("github://acme/widget", "branch:dev")
	e.install("ws-4", "w4", gone, sha(1), "", t0)
	require.NoError(t, e.store.DeleteInstall(e.ctx, "ws-4", "w4", t0))

	assert.ElementsMatch(t, []tracking.UpstreamKey{mainKey, latest, ssh}, e.repoUpstreams("https://github.com/acme/widget"))
	assert.Equal(t, []tracking.UpstreamKey{other}, e.repoUpstreams("git@github.com:acme/gadget.git"))
	assert.Empty(t, e.repoUpstreams("https://github.com/acme/unknown"))

	// Installs recorded after a lookup are found by the next one.
	later := e.key("git+https://github.com/acme/widget", "head")
	e.install("ws-5", "w5", later, sha(1), "", t0)
	assert.Len(t, e.repoUpstreams("github.com/acme/widget"), 4)

	// Pages by ID.
	all, err := e.store.ListRepositoryUpstreams(e.ctx, storage.ListRepositoryUpstreamsParams{Repository: e.repo("github.com/acme/widget"), Limit: 2})
	require.NoError(t, err)
	require.Len(t, all, 2)
	rest, err := e.store.ListRepositoryUpstreams(e.ctx, storage.ListRepositoryUpstreamsParams{Repository: e.repo("github.com/acme/widget"), AfterID: all[1].ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, rest, 2)
	assert.Less(t, all[0].ID, all[1].ID)
	assert.Less(t, all[1].ID, rest[0].ID)
}

func testPushCoalesces(t *testing.T, e *env) {
	a, b := e.key(srcA, "branch:main"), e.key(srcB, "tag:latest")
	e.install("ws", "a", a, sha(1), "", t0)
	e.install("ws", "b", b, sha(1), "v1.0.0", t0)

	res := e.push(storage.RecordPushParams{DeliveryID: "github:1", DeliveryExpires: t0.Add(time.Hour), Keys: []tracking.UpstreamKey{a, b}, At: t0})
	assert.Equal(t, storage.RecordPushResult{Requested: 2}, res)
	assert.Equal(t, t0, e.upstream(a).LastPushAt)
	for i := range 49 {
		res = e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Duration(i+1) * time.Second)})
		assert.Equal(t, storage.RecordPushResult{}, res, "an open request takes the push")
	}
	assert.Equal(t, t0.Add(49*time.Second), e.upstream(a).LastPushAt)
	assert.Equal(t, t0, e.upstream(b).LastPushAt)

	got := e.claimChecks("r1", time.Minute, 10)
	require.Len(t, got, 2, "50 pushes, two upstreams: two requests")
	byKey := map[tracking.UpstreamKey]storage.CheckRequest{}
	for _, r := range got {
		byKey[r.Key] = r
		assert.Equal(t, t0, r.RequestedAt, "the oldest push's time")
	}
	assert.Equal(t, int64(50), byKey[a].Generation)
	assert.Equal(t, int64(1), byKey[b].Generation)
}

func testPushReplay(t *testing.T, e *env) {
	a, b := e.key(srcA, "branch:main"), e.key(srcB, "tag:latest")
	e.install("ws", "a", a, sha(1), "", t0)
	e.install("ws", "b", b, sha(1), "v1.0.0", t0)
	e.push(storage.RecordPushParams{DeliveryID: "github:d-1", DeliveryExpires: t0.Add(time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0})
	r := e.claimChecks("r1", time.Minute, 10)
	require.Len(t, r, 1)
	require.NoError(t, e.complete(storage.CompleteCheckRequestParams{Key: a, Holder: "r1", Generation: r[0].Generation}))

	res := e.push(storage.RecordPushParams{DeliveryID: "github:d-1", DeliveryExpires: t0.Add(2 * time.Hour), Keys: []tracking.UpstreamKey{a, b}, At: t0.Add(time.Minute)})
	assert.Equal(t, storage.RecordPushResult{Replayed: true}, res)
	assert.Empty(t, e.claimChecks("r1", time.Minute, 10), "a replay requests nothing")
	assert.Equal(t, t0, e.upstream(a).LastPushAt, "a replay is not a push")
	assert.True(t, e.upstream(b).LastPushAt.IsZero())

	res = e.push(storage.RecordPushParams{DeliveryID: "gitlab:d-1", DeliveryExpires: t0.Add(2 * time.Hour), Keys: []tracking.UpstreamKey{b}, At: t0.Add(time.Minute)})
	assert.Equal(t, storage.RecordPushResult{Requested: 1}, res, "another delivery id")
}

func testPushDeliveryExpires(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.push(storage.RecordPushParams{DeliveryID: "d", DeliveryExpires: t0.Add(time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0})
	res := e.push(storage.RecordPushParams{DeliveryID: "d", DeliveryExpires: t0.Add(2 * time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Hour - time.Microsecond)})
	assert.True(t, res.Replayed, "still remembered")
	res = e.push(storage.RecordPushParams{DeliveryID: "d", DeliveryExpires: t0.Add(3 * time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Hour)})
	assert.False(t, res.Replayed, "forgotten at its expiry")
	res = e.push(storage.RecordPushParams{DeliveryID: "d", DeliveryExpires: t0.Add(3 * time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0.Add(2 * time.Hour)})
	assert.True(t, res.Replayed, "recorded again with its new expiry")
}

func testPushClaimLifecycle(t *testing.T, e *env) {
	a, b := e.key(srcA, "branch:main"), e.key(srcB, "tag:latest")
	e.install("ws", "a", a, sha(1), "", t0)
	e.install("ws", "b", b, sha(1), "v1.0.0", t0)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{b}, At: t0})
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Second)})

	first := e.claimChecks("r1", time.Minute, 1)
	require.Len(t, first, 1)
	assert.Equal(t, b, first[0].Key, "oldest first")
	second := e.claimChecks("r2", time.Minute, 10)
	require.Len(t, second, 1, "a live claim is not handed out again")
	assert.Equal(t, a, second[0].Key)
	assert.Empty(t, e.claimChecks("r3", time.Minute, 10))

	_, err := e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: b, Holder: "r2", Generation: first[0].Generation})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "r2 does not hold b")
	require.NoError(t, e.complete(storage.CompleteCheckRequestParams{Key: b, Holder: "r1", Generation: first[0].Generation}))
	_, err = e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: b, Holder: "r1", Generation: first[0].Generation})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "done already")

	// A new push after the check asks for a new one.
	res := e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{b}, At: t0.Add(time.Minute)})
	assert.Equal(t, 1, res.Requested)
	again := e.claimChecks("r3", time.Minute, 10)
	require.Len(t, again, 1)
	assert.Equal(t, b, again[0].Key)
	assert.Equal(t, int64(1), again[0].Generation)
	assert.Equal(t, t0.Add(time.Minute), again[0].RequestedAt)
}

func testPushDuringCheck(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0})
	r := e.claimChecks("r1", time.Minute, 10)
	require.Len(t, r, 1)
	// Pushes while r1 checks: they may have moved the upstream after r1
	// resolved it, so one more check is owed, and no second holder runs
	// one alongside.
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Second)})
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0.Add(2 * time.Second)})
	assert.Empty(t, e.claimChecks("r2", time.Minute, 10), "still r1's")
	again, err := e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "r1", Generation: r[0].Generation})
	require.NoError(t, err)
	assert.True(t, again, "the request stays for another check")
	next := e.claimChecks("r2", time.Minute, 10)
	require.Len(t, next, 1, "one more check for the pushes during the first")
	assert.Equal(t, int64(3), next[0].Generation)
	again, err = e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "r2", Generation: next[0].Generation})
	require.NoError(t, err)
	assert.False(t, again, "done")
	assert.Empty(t, e.claimChecks("r3", time.Minute, 10))
}

func testPushRecheckRests(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0})
	r := e.claimChecks("r1", time.Minute, 10)
	require.Len(t, r, 1)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0.Add(time.Second)})
	const rest = 300 * time.Millisecond
	start := time.Now()
	again, err := e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "r1", Generation: r[0].Generation, RecheckAfter: rest})
	require.NoError(t, err)
	require.True(t, again)
	var next []storage.CheckRequest
	// Polled: the rest ends by the store's clock, which the test cannot
	// move.
	e.eventually("the request is not claimable", func() bool {
		next = e.claimChecks("r2", time.Minute, 10)
		return len(next) > 0
	})
	assert.GreaterOrEqual(t, time.Since(start), rest-20*time.Millisecond, "claimed before its rest ended")
	assert.Equal(t, int64(2), next[0].Generation)

	_, err = e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "r2", Generation: 2, RecheckAfter: -time.Second})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	_, err = e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Generation: 2})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "no holder")
	assert.Empty(t, e.claimChecks("r3", time.Minute, 10), "the refused completions changed nothing: r2 holds it")
}

func testPushHandBack(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0})
	r := e.claimChecks("r1", time.Minute, 10)
	require.Len(t, r, 1)
	again, err := e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "r1"})
	require.NoError(t, err)
	assert.True(t, again, "generation 0 hands the request back unchecked")
	back := e.claimChecks("r2", time.Minute, 10)
	require.Len(t, back, 1)
	assert.Equal(t, r[0], back[0], "unchanged, for another holder")
}

func testPushClaimExpired(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	e.push(storage.RecordPushParams{Keys: []tracking.UpstreamKey{a}, At: t0})
	const ttl = 300 * time.Millisecond
	start := time.Now()
	dead := e.claimChecks("dead", ttl, 10)
	require.Len(t, dead, 1)
	var taken []storage.CheckRequest
	// Polled: expiry is judged by the store's own clock, which the test
	// cannot move.
	e.eventually("the claim has not expired", func() bool {
		taken = e.claimChecks("alive", time.Minute, 10)
		return len(taken) > 0
	})
	assert.GreaterOrEqual(t, time.Since(start), ttl-20*time.Millisecond, "taken over before its TTL ran out")
	assert.Equal(t, a, taken[0].Key)
	_, err := e.store.CompleteCheckRequest(e.ctx, storage.CompleteCheckRequestParams{Key: a, Holder: "dead", Generation: dead[0].Generation})
	assert.ErrorIs(t, err, tracking.ErrClaimLost, "the dead holder's late completion is fenced")
	require.NoError(t, e.complete(storage.CompleteCheckRequestParams{Key: a, Holder: "alive", Generation: taken[0].Generation}))
}

func testPushClaimRace(t *testing.T, e *env) {
	var keys []tracking.UpstreamKey
	for i := range 20 {
		k := e.key(srcA, "branch:b"+string(rune('a'+i)))
		e.install("ws", "p"+string(rune('a'+i)), k, sha(1), "", t0)
		keys = append(keys, k)
	}
	e.push(storage.RecordPushParams{Keys: keys, At: t0})
	var (
		mu  sync.Mutex
		got = map[tracking.UpstreamKey]int{}
		wg  sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for {
				rs, err := e.store.ClaimCheckRequests(e.ctx, storage.ClaimCheckRequestsParams{Holder: "w" + string(rune('0'+w)), TTL: time.Minute, Limit: 3})
				if !assert.NoError(t, err) || len(rs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range rs {
					got[r.Key]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, got, len(keys))
	for k, n := range got {
		assert.Equal(t, 1, n, "%s claimed %d times", k, n)
	}
}

func testPushInvalid(t *testing.T, e *env) {
	a := e.key(srcA, "branch:main")
	e.install("ws", "a", a, sha(1), "", t0)
	pinned := e.key(srcA, "sha:"+sha(9))
	for name, p := range map[string]storage.RecordPushParams{
		"untracked key":        {Keys: []tracking.UpstreamKey{a, pinned}, At: t0},
		"duplicate key":        {Keys: []tracking.UpstreamKey{a, a}, At: t0},
		"delivery w/o expiry":  {DeliveryID: "d", Keys: []tracking.UpstreamKey{a}, At: t0},
		"delivery id too long": {DeliveryID: string(make([]byte, 129)), DeliveryExpires: t0.Add(time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0},
	} {
		_, err := e.store.RecordPush(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
	}
	assert.Empty(t, e.claimChecks("r", time.Minute, 10), "nothing was requested")
	assert.True(t, e.upstream(a).LastPushAt.IsZero())
	// The delivery id of the refused push was not recorded either.
	res := e.push(storage.RecordPushParams{DeliveryID: "d", DeliveryExpires: t0.Add(time.Hour), Keys: []tracking.UpstreamKey{a}, At: t0})
	assert.False(t, res.Replayed)

	_, err := e.store.ListRepositoryUpstreams(e.ctx, storage.ListRepositoryUpstreamsParams{Limit: 1})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "no repository")
	_, err = e.store.ListRepositoryUpstreams(e.ctx, storage.ListRepositoryUpstreamsParams{Repository: e.repo(srcA), Limit: 0})
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "no limit")
	for _, p := range []storage.ClaimCheckRequestsParams{{TTL: time.Minute, Limit: 1}, {Holder: "r", Limit: 1}, {Holder: "r", TTL: time.Minute}} {
		_, err = e.store.ClaimCheckRequests(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
	}
	assert.Len(t, e.claimChecks("r", time.Minute, 10), 1, "the refused claims took nothing")
}
