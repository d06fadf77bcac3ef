package drift_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
)

// sweepRecords returns the store's sweep records, newest first.
func sweepRecords(t *testing.T, s storage.Store) []storage.SweepRecord {
	t.Helper()
	recs, err := s.ListSweeps(t.Context(), storage.ListSweepsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	return recs
}

// Two replicas share a store: the one that did not sweep answers the
// latest sweep with the other's report.
func TestLatestSweepIsSharedByReplicas(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c, res := newClock(), newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
		record(t, s, c, "ws", "q", srcB, "branch:main", sha(1), "")
		res.set(srcA, "branch:main", sha(2), "")
		res.fail(srcB, "branch:main", errors.New("upstream said no"))
		a := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-a"})
		b := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-b"})
		assert.Equal(t, drift.SweepStatus{}, b.LatestSweep(t.Context()), "nobody swept yet")

		start := c.Now().UTC()
		rep, err := a.RunOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, rep.Queued)
		require.Equal(t, 1, rep.Failed)

		assert.Equal(t, drift.SweepStatus{}, b.Latest(), "B's own sweeps: none")
		st := b.LatestSweep(t.Context())
		assert.False(t, st.Running)
		assert.Equal(t, "replica-a", st.Holder)
		assert.Equal(t, start, st.StartedAt)
		assert.Equal(t, start, st.FinishedAt)
		assert.NoError(t, st.Err)
		assert.Equal(t, rep, st.Report, "A's report, as A returned it")
		assert.Equal(t, a.Latest(), a.LatestSweep(t.Context()), "A answers with its own")

		// A later sweep by B is the latest for both.
		c.Advance(time.Hour)
		_, err = b.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "replica-b", a.LatestSweep(t.Context()).Holder)
		recs := sweepRecords(t, s)
		require.Len(t, recs, 2)
		assert.Equal(t, []string{"replica-b", "replica-a"}, []string{recs[0].Holder, recs[1].Holder})
	})
}

func TestSkippedSweepIsNotRecorded(t *testing.T) {
	s, c, res := memstore.New(), newClock(), newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	a := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-a"})
	_, err := a.RunOnce(t.Context())
	require.NoError(t, err)

	ok, err := s.AcquireLease(t.Context(), storage.LeaseParams{Name: drift.SweeperLeaseName, Holder: "replica-c", TTL: time.Minute})
	require.NoError(t, err)
	require.True(t, ok)
	c.Advance(time.Minute)
	b := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: "replica-b"})
	rep, err := b.RunOnce(t.Context())
	require.NoError(t, err)
	require.True(t, rep.Skipped)
	assert.Len(t, sweepRecords(t, s), 1, "only A's sweep ran")

	// B's skip is newer than A's record: B says it skipped, A shows its own.
	assert.True(t, b.LatestSweep(t.Context()).Report.Skipped)
	assert.Equal(t, "replica-a", a.LatestSweep(t.Context()).Holder)
}

// A sweep stopped midway is recorded anyway, under a context of its own,
// with why it stopped.
func TestStoppedSweepIsRecorded(t *testing.T) {
	s, c, res, g := sweepSetup(t, 2)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Concurrency: 1, Holder: "replica-a"})
	ctx, cancel := context.WithCancel(t.Context())
	type result struct {
		rep drift.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := sw.RunOnce(ctx)
		done <- result{rep, err}
	}()
	wait(t, g.entered, "the first hanging resolution")
	cancel()
	got := wait(t, done, "the end of the stopped sweep")
	require.ErrorIs(t, got.err, context.Canceled)
	recs := sweepRecords(t, s)
	require.Len(t, recs, 1)
	assert.Contains(t, recs[0].Error, "context canceled")
	assert.Positive(t, recs[0].Upstreams)
	assert.Equal(t, got.rep.Upstreams, recs[0].Upstreams, "what it did until then")
}

// The record keeps the store's bounds: the first storage.MaxSweepErrors
// failures, each text cut to storage.MaxSweepText, and redacted.
func TestSweepRecordIsBounded(t *testing.T) {
	s, c, res := memstore.New(), newClock(), newFakeResolver()
	n := storage.MaxSweepErrors + 5
	long := "token=s3cr3t-value " + strings.Repeat("x", 2*storage.MaxSweepText)
	for i := range n {
		ref := fmt.Sprintf("branch:b%03d", i)
		record(t, s, c, "ws", fmt.Sprintf("p%03d", i), srcA, ref, sha(1), "")
		res.fail(srcA, ref, errors.New(long))
	}
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{MaxReportErrors: 2 * n, Holder: strings.Repeat("h", 2*storage.MaxSweepText)})
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Len(t, rep.Errors, n)
	recs := sweepRecords(t, s)
	require.Len(t, recs, 1, "recorded, not refused")
	r := recs[0]
	assert.Equal(t, n, r.Failed)
	assert.Len(t, r.Errors, storage.MaxSweepErrors)
	assert.LessOrEqual(t, len(r.Holder), storage.MaxSweepText)
	for _, e := range r.Errors {
		assert.LessOrEqual(t, len(e.Error), storage.MaxSweepText)
		assert.NotContains(t, e.Error, "s3cr3t")
	}
}

// failingSweeps is a store whose sweep records cannot be written or read.
type failingSweeps struct{ storage.Store }

var errSweepTable = errors.New("sweep table unavailable")

func (failingSweeps) RecordSweep(context.Context, storage.SweepRecord) (storage.SweepRecord, error) {
	return storage.SweepRecord{}, errSweepTable
}

func (failingSweeps) ListSweeps(context.Context, storage.ListSweepsParams) ([]storage.SweepRecord, error) {
	return nil, errSweepTable
}

func TestSweepRecordFailureIsLoggedNotFatal(t *testing.T) {
	s, c, res := memstore.New(), newClock(), newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	var logs bytes.Buffer
	sw := newSweeper(t, failingSweeps{s}, res, c, &drift.SweeperConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err, "the sweep itself succeeded")
	assert.Equal(t, 1, rep.Queued)
	assert.Contains(t, logs.String(), "record sweep report")
	assert.Contains(t, logs.String(), errSweepTable.Error())

	// Unable to read the records, LatestSweep answers with its own.
	logs.Reset()
	assert.Equal(t, sw.Latest(), sw.LatestSweep(t.Context()))
	assert.Equal(t, rep, sw.LatestSweep(t.Context()).Report)
	assert.Contains(t, logs.String(), "read the latest sweep record")
}
