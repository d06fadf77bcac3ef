package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// ListUpstreams implements storage.Store.
func (s *Store) ListUpstreams(ctx context.Context, p storage.ListUpstreamsParams) ([]tracking.Upstream, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list upstreams: %w", err)
	}
	query := s.q.listUpstreams
	if p.Failing {
		query = s.q.listFailingUpstreams
	}
	return queryAll(ctx, s, "list upstreams", scanUpstream, query, p.AfterID, p.Limit)
}

// GetUpstream implements storage.Store.
func (s *Store) GetUpstream(ctx context.Context, key tracking.UpstreamKey) (tracking.Upstream, error) {
	u, err := scanUpstream(s.pool.queryRow(ctx, s.q.getUpstream, key.Source.String(), key.Ref.String()))
	if err != nil {
		return tracking.Upstream{}, interpretError(ctx, "get upstream "+key.String(), err)
	}
	return u, nil
}

// RecordUpstreamFailure implements storage.Store. key must name a tracked
// upstream (as for Reconcile), else the error wraps
// tracking.ErrInvalidArgument.
func (s *Store) RecordUpstreamFailure(ctx context.Context, key tracking.UpstreamKey, message string, at time.Time) error {
	if err := storage.RequireTracked(key); err != nil {
		return fmt.Errorf("bunstore: record upstream failure: %w", err)
	}
	return s.transact(ctx, "record upstream failure "+key.String(), func(tx *sql.Tx) error {
		up, err := scanUpstream(tx.QueryRowContext(ctx, s.q.recordFailure, key.Source.String(), key.Ref.String(), message, micros(utc(at)), repositoryOf(key.Source)))
		if err != nil {
			return err
		}
		if t, ok := tracking.UpstreamHealthEvent(up.ConsecutiveFailures-1, up.ConsecutiveFailures); ok {
			return s.insertEvents(ctx, tx, []tracking.Event{tracking.UpstreamEvent(t, up, up.LastCheckedAt)})
		}
		return nil
	})
}

// reconcileStats is what the queue statements of one Reconcile would
// change; see queries.reconcileStats.
type reconcileStats struct {
	installs, behind, supersede, touch, live int
	failures                                 int // the upstream's, before this call
}

// queue is how many installs behind keep no open entry.
func (st reconcileStats) queue() int { return st.behind - st.touch - st.live }

// idle reports whether the queue stays as it is and no event is owed.
func (st reconcileStats) idle() bool {
	_, recovers := tracking.UpstreamHealthEvent(st.failures, 0)
	return st.supersede == 0 && st.touch == 0 && st.queue() <= 0 && !recovers
}

// Reconcile implements storage.Store.
//
// One transaction, at most five statements whatever the number of
// installs: the upstream row upsert (which, on Postgres, also locks the row
// against concurrent Reconcile and install changes of the same key), a
// read that counts what the queue rules would change, then only the
// needed ones of: supersede stale open entries, touch current ones, queue
// new ones. On Postgres the steady state (nothing to change) is two
// statements outside any transaction: the read, then the row.
func (s *Store) Reconcile(ctx context.Context, p storage.ReconcileParams) (storage.ReconcileResult, error) {
	if err := p.Validate(); err != nil {
		return storage.ReconcileResult{}, fmt.Errorf("bunstore: reconcile: %w", err)
	}
	op := "reconcile " + p.Key.String()
	// $1 source, $2 ref, $3 upstream SHA, $4 now (µs) in every statement
	// but the count, which takes the first three (it reads no time of the
	// caller's: claims are judged by the server's clock).
	key := []any{p.Key.Source.String(), p.Key.Ref.String(), p.SHA, utc(p.Now).UnixMicro()}
	verify := verificationArgs(p.Verification)
	upstreamArgs := slices.Concat(key, []any{p.Version, p.Validator}, verify, []any{repositoryOf(p.Key.Source)})

	if s.dialect == dialect.PG {
		// The steady state outside any transaction: read what the queue
		// rules would change and, when that is nothing, the upstream row
		// is the whole write. The row is never written ahead of its queue
		// (a crash in between would leave it knowing a commit whose
		// entries were never queued); anything else takes the transaction
		// below.
		st, err := scanStats(s.pool.queryRow(ctx, s.q.reconcileStats, key[:3]...))
		if err != nil {
			return storage.ReconcileResult{}, interpretError(ctx, op, err)
		}
		if st.idle() {
			if _, err := s.pool.exec(ctx, s.q.upsertUpstream, upstreamArgs...); err != nil {
				return storage.ReconcileResult{}, interpretError(ctx, op, err)
			}
			return storage.ReconcileResult{Installs: st.installs}, nil
		}
	}

	stmts, err := s.pool.prepare(ctx, s.q.upsertUpstream, s.q.reconcileStats, s.q.reconcileSupersede, s.q.reconcileTouch, s.q.reconcileQueue, s.q.upstreamFailures)
	if err != nil {
		return storage.ReconcileResult{}, interpretError(ctx, op, err)
	}
	upsert, stats, supersede, touch, queue, failures := stmts[0], stmts[1], stmts[2], stmts[3], stmts[4], stmts[5]

	var res storage.ReconcileResult
	err = s.transact(ctx, op, func(tx *sql.Tx) error {
		res = storage.ReconcileResult{}
		exec := func(st *sql.Stmt, args ...any) (int, error) {
			return rowsAffected(tx.StmtContext(ctx, st).ExecContext(ctx, args...))
		}
		query := func(st *sql.Stmt, args ...any) ([]tracking.Update, error) {
			return queryUpdates(tx.StmtContext(ctx, st).QueryContext(ctx, args...))
		}
		// The failure count before the upsert clears it (on Postgres this
		// read also locks the row, as the upsert would).
		var before int
		err := tx.StmtContext(ctx, failures).QueryRowContext(ctx, key[:2]...).Scan(&before)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := exec(upsert, upstreamArgs...); err != nil {
			return err
		}
		st, err := scanStats(tx.StmtContext(ctx, stats).QueryRowContext(ctx, key[:3]...))
		if err != nil {
			return err
		}
		res.Installs = st.installs
		var events []tracking.Event
		if st.supersede > 0 {
			us, err := query(supersede, key...)
			if err != nil {
				return err
			}
			res.Superseded = len(us)
			events = append(events, updateEvents(tracking.EventUpdateSuperseded, us, decidedAt)...)
		}
		if st.touch > 0 {
			if _, err := exec(touch, slices.Concat(key, verify)...); err != nil {
				return err
			}
		}
		// A claim that ran out between the count and the supersede
		// statement (the server's clock moved on) left its install
		// without an open entry: queue then too.
		if st.queue() > 0 || res.Superseded > st.supersede {
			us, err := query(queue, slices.Concat(key, []any{p.Version, string(p.Key.Ref.DriftKind()), rewrittenList(p.Rewritten), p.ReconcileVersionKey()}, verify)...)
			if err != nil {
				return err
			}
			res.Queued = len(us)
			events = append(events, updateEvents(tracking.EventUpdateQueued, us, detectedAt)...)
		}
		if t, ok := tracking.UpstreamHealthEvent(before, 0); ok {
			up, err := scanUpstream(tx.QueryRowContext(ctx, s.q.getUpstream, key[:2]...))
			if err != nil {
				return err
			}
			events = append(events, tracking.UpstreamEvent(t, up, utc(p.Now)))
		}
		return s.insertEvents(ctx, tx, events)
	})
	if err != nil {
		return storage.ReconcileResult{}, err
	}
	return res, nil
}

func scanStats(row scanner) (reconcileStats, error) {
	var st reconcileStats
	err := row.Scan(&st.installs, &st.behind, &st.supersede, &st.touch, &st.live, &st.failures)
	return st, err
}

func rowsAffected(r sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}
