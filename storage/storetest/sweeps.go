package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// sweepCases hold every backend to the same record of the last sweeps: what
// one replica records, every other reads back.
var sweepCases = []testCase{
	{"SweepsRoundTrip", testSweepsRoundTrip},
	{"SweepsPrunedToKept", testSweepsPruned},
	{"SweepsInvalidChangesNothing", testSweepsInvalid},
}

// sweepRecord returns a record of a sweep that started at, every field
// set; its texts hold a quote and non-ASCII text, so stores must bind
// them, not splice them.
func sweepRecord(at time.Time, n int) storage.SweepRecord {
	return storage.SweepRecord{
		Holder: "replica-a/42/0ff1ce", StartedAt: at, FinishedAt: at.Add(time.Duration(n+1) * time.Second), Duration: 1500*time.Millisecond + time.Duration(n),
		Upstreams: 10 + n, Resolved: 7, Unchanged: 3, Failed: 2, Deferred: 1, Installs: 20, Queued: 4, Superseded: 5,
		Errors: []storage.SweepError{
			{Source: "github.com/a/b", Ref: "branch:main", Error: "it's “gone”: 404"},
			{Source: "https://git.example/c.git", Ref: "tag:v1.*", Error: strings.Repeat("é", storage.MaxSweepText/2)},
		},
		Error: "stopped: the lease's renewal failed",
	}
}

// sweeps lists the newest records.
func (e *env) sweeps(limit int) []storage.SweepRecord {
	e.t.Helper()
	got, err := e.store.ListSweeps(e.ctx, storage.ListSweepsParams{Limit: limit})
	require.NoError(e.t, err)
	return got
}

func testSweepsRoundTrip(t *testing.T, e *env) {
	assert.Empty(t, e.sweeps(1), "nothing recorded yet")

	in := sweepRecord(t0, 0)
	first, err := e.store.RecordSweep(e.ctx, in)
	require.NoError(t, err)
	assert.Positive(t, first.ID)
	want := in
	want.ID = first.ID
	assert.Equal(t, want, first)
	assert.Equal(t, []storage.SweepRecord{first}, e.sweeps(1))

	// A sweep that ran to its end and failed nothing records no errors,
	// and reads back without any.
	clean := storage.SweepRecord{Holder: "replica-b", StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour)}
	second, err := e.store.RecordSweep(e.ctx, clean)
	require.NoError(t, err)
	assert.Greater(t, second.ID, first.ID, "a later record has a larger id")
	assert.Empty(t, second.Errors)
	latest := e.sweeps(1)
	require.Len(t, latest, 1)
	assert.Equal(t, second.ID, latest[0].ID, "the latest is the newest")
	assert.Empty(t, latest[0].Errors)
	assert.Equal(t, "replica-b", latest[0].Holder)

	assert.Equal(t, []storage.SweepRecord{second, first}, e.sweeps(10), "newest first")
	older, err := e.store.ListSweeps(e.ctx, storage.ListSweepsParams{BeforeID: second.ID, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, []storage.SweepRecord{first}, older)
}

func testSweepsPruned(t *testing.T, e *env) {
	var ids []int64
	for i := range storage.SweepsKept + 3 {
		r, err := e.store.RecordSweep(e.ctx, sweepRecord(t0.Add(time.Duration(i)*time.Minute), i))
		require.NoError(t, err)
		if len(ids) > 0 {
			require.Greater(t, r.ID, ids[len(ids)-1], "ids increase")
		}
		ids = append(ids, r.ID)
	}
	got := e.sweeps(storage.MaxLimit)
	require.Len(t, got, storage.SweepsKept, "only the newest are kept")
	for i, r := range got {
		assert.Equal(t, ids[len(ids)-1-i], r.ID)
	}
	assert.Equal(t, storage.SweepsKept+2, got[0].Upstreams-10, "the newest is the last recorded")
}

func testSweepsInvalid(t *testing.T, e *env) {
	kept, err := e.store.RecordSweep(e.ctx, sweepRecord(t0, 0))
	require.NoError(t, err)

	long := strings.Repeat("x", storage.MaxSweepText+1)
	for name, change := range map[string]func(*storage.SweepRecord){
		"no holder":         func(r *storage.SweepRecord) { r.Holder = "" },
		"long holder":       func(r *storage.SweepRecord) { r.Holder = long },
		"no start":          func(r *storage.SweepRecord) { r.StartedAt = time.Time{} },
		"finish before":     func(r *storage.SweepRecord) { r.FinishedAt = r.StartedAt.Add(-time.Second) },
		"negative duration": func(r *storage.SweepRecord) { r.Duration = -1 },
		"negative count":    func(r *storage.SweepRecord) { r.Queued = -1 },
		"long error":        func(r *storage.SweepRecord) { r.Error = long },
		"long upstream error": func(r *storage.SweepRecord) {
			r.Errors[1].Error = long
		},
		"long source": func(r *storage.SweepRecord) { r.Errors[0].Source = long },
		"too many errors": func(r *storage.SweepRecord) {
			r.Errors = make([]storage.SweepError, storage.MaxSweepErrors+1)
		},
	} {
		r := sweepRecord(t0.Add(time.Hour), 1)
		change(&r)
		_, err := e.store.RecordSweep(e.ctx, r)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
	}
	for _, p := range []storage.ListSweepsParams{{Limit: 0}, {Limit: storage.MaxLimit + 1}, {BeforeID: -1, Limit: 1}} {
		_, err := e.store.ListSweeps(e.ctx, p)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%+v", p)
	}
	assert.Equal(t, []storage.SweepRecord{kept}, e.sweeps(10), "nothing changed")

	// The bounds themselves are accepted.
	r := sweepRecord(t0.Add(2*time.Hour), 2)
	r.Holder, r.Error = strings.Repeat("h", storage.MaxSweepText), strings.Repeat("e", storage.MaxSweepText)
	r.Errors = make([]storage.SweepError, storage.MaxSweepErrors)
	for i := range r.Errors {
		r.Errors[i] = storage.SweepError{Source: "github.com/a/b", Ref: "branch:main", Error: strings.Repeat("z", storage.MaxSweepText)}
	}
	got, err := e.store.RecordSweep(e.ctx, r)
	require.NoError(t, err)
	assert.Equal(t, got, e.sweeps(1)[0])
}
