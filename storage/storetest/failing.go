package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// failingCases are the cases of ListUpstreams with Failing set, registered
// in cases.
var failingCases = []testCase{
	{"ListFailingUpstreams", testListFailingUpstreams},
	{"ListFailingUpstreamsPages", testListFailingUpstreamsPages},
	{"ListFailingUpstreamsRejectsBadParams", testListFailingBadParams},
}

// failingKeys lists the failing upstreams, limit at a time, and returns
// their keys in order.
func (e *env) failingKeys(limit int) []tracking.UpstreamKey {
	e.t.Helper()
	var keys []tracking.UpstreamKey
	var after int64
	for pages := 0; ; pages++ {
		require.Less(e.t, pages, 100, "paging does not end")
		ups, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Failing: true, AfterID: after, Limit: limit})
		require.NoError(e.t, err)
		for _, u := range ups {
			require.Greater(e.t, u.ID, after, "ordered by ID, after the cursor")
			require.Positive(e.t, u.ConsecutiveFailures, "%s listed as failing", u.Key)
			keys = append(keys, u.Key)
			after = u.ID
		}
		if len(ups) < limit {
			return keys
		}
	}
}

func testListFailingUpstreams(t *testing.T, e *env) {
	a, b, c := e.key(srcA, "branch:main"), e.key(srcA, "tag:latest"), e.key(srcB, "branch:main")
	untracked := e.key(srcB, "tag:latest")
	e.install("ws", "a", a, sha(1), "", t0)
	e.install("ws", "b", b, sha(1), "", t0)
	e.install("ws", "c", c, sha(1), "", t0)
	e.install("ws", "d", untracked, sha(1), "", t0)
	assert.Empty(t, e.failingKeys(10), "nothing failed yet")

	e.reconcile(b, sha(2), "", t0)
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, c, "boom", t0))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, a, "boom", t0))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, a, "boom again", t0))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, untracked, "boom", t0))
	// d's install stops tracking: its upstream is no longer listed, failing or not.
	e.install("ws", "d", e.key(srcB, "none"), sha(1), "", t0)

	got := e.failingKeys(10)
	assert.ElementsMatch(t, []tracking.UpstreamKey{a, c}, got, "only the tracked, failing upstreams")
	all, err := e.store.ListUpstreams(e.ctx, storage.ListUpstreamsParams{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, all, 3, "without Failing every tracked upstream is listed")
	n, err := e.store.CountFailingUpstreams(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, len(got), n, "the list and the count agree")

	// An upstream that recovers leaves the list; one that fails joins it.
	e.reconcile(a, sha(3), "", t0.Add(time.Minute))
	assert.Equal(t, []tracking.UpstreamKey{c}, e.failingKeys(10))
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, b, "boom", t0.Add(time.Minute)))
	assert.ElementsMatch(t, []tracking.UpstreamKey{b, c}, e.failingKeys(10))
}

func testListFailingUpstreamsPages(t *testing.T, e *env) {
	want := map[tracking.UpstreamKey]bool{}
	for i, ref := range []string{"branch:a", "branch:b", "branch:c", "branch:d", "branch:e", "branch:f", "tag:latest", "head"} {
		k := e.key(srcA, ref)
		e.install("w", "p"+string(rune('a'+i)), k, sha(1), "", t0)
		if i%3 == 2 {
			e.reconcile(k, sha(1), "", t0) // healthy, between failing ones
			continue
		}
		require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, k, "boom", t0))
		want[k] = true
	}
	for _, limit := range []int{1, 2, 3, storage.MaxLimit} {
		got := map[tracking.UpstreamKey]bool{}
		for _, k := range e.failingKeys(limit) {
			assert.False(t, got[k], "limit %d: upstream listed twice: %s", limit, k)
			got[k] = true
		}
		assert.Equal(t, want, got, "limit %d", limit)
	}
}

func testListFailingBadParams(t *testing.T, e *env) {
	k := e.key(srcA, "branch:main")
	e.install("ws", "p", k, sha(1), "", t0)
	require.NoError(t, e.store.RecordUpstreamFailure(e.ctx, k, "boom", t0))
	before := e.upstream(k)
	for _, p := range []storage.ListUpstreamsParams{
		{Failing: true, Limit: 0}, {Failing: true, Limit: storage.MaxLimit + 1}, {Failing: true, AfterID: -1, Limit: 10},
	} {
		ups, err := e.store.ListUpstreams(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
		assert.Empty(t, ups, "%+v", p)
	}
	assert.Equal(t, before, e.upstream(k), "a refused list changes nothing")
	assert.Equal(t, []tracking.UpstreamKey{k}, e.failingKeys(10))
}
