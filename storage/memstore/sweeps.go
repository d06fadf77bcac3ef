package memstore

import (
	"context"
	"slices"

	"github.com/plugindrift/plugindrift/storage"
)

// sweepLog holds the sweep records, oldest first. Its zero value is
// empty.
type sweepLog struct {
	records []storage.SweepRecord
	nextID  int64
}

// RecordSweep implements storage.Store.
func (s *Store) RecordSweep(ctx context.Context, r storage.SweepRecord) (storage.SweepRecord, error) {
	unlock, err := s.lockValid(ctx, r)
	if err != nil {
		return storage.SweepRecord{}, err
	}
	defer unlock()
	l := &s.sweeps
	l.nextID++
	r.ID = l.nextID
	r.StartedAt, r.FinishedAt = ts(r.StartedAt), ts(r.FinishedAt)
	r.Errors = slices.Clone(r.Errors)
	l.records = append(l.records, r)
	if n := len(l.records) - storage.SweepsKept; n > 0 {
		l.records = slices.Delete(l.records, 0, n)
	}
	return clonedSweep(r), nil
}

// ListSweeps implements storage.Store.
func (s *Store) ListSweeps(ctx context.Context, p storage.ListSweepsParams) ([]storage.SweepRecord, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []storage.SweepRecord
	for _, r := range slices.Backward(s.sweeps.records) {
		if len(out) == p.Limit {
			break
		}
		if p.BeforeID == 0 || r.ID < p.BeforeID {
			out = append(out, clonedSweep(r))
		}
	}
	return out, nil
}

// clonedSweep returns r with its own Errors, so that callers never share
// the store's.
func clonedSweep(r storage.SweepRecord) storage.SweepRecord {
	r.Errors = slices.Clone(r.Errors)
	return r
}
