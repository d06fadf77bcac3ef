package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/storage"
)

// Sweep reports: one row per sweep that ran, the newest storage.SweepsKept
// kept. The failing upstreams are a JSON array in one column: they are
// only ever read with their sweep.

// addSweepMigrations registers the migration of the sweep records table.
func addSweepMigrations(ms *migrate.Migrations, t tables) {
	table := t.sweeps
	ms.Add(migrate.Migration{
		Name:    "20261202000700",
		Comment: "plugindrift_sweeps",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			serial := "BIGSERIAL PRIMARY KEY"
			if db.Dialect().Name() == dialect.SQLite {
				serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
			}
			return execDDL(ctx, db, []string{fmt.Sprintf(`CREATE TABLE %s (
	id          %s,
	holder      TEXT NOT NULL,
	started_at  BIGINT NOT NULL,
	finished_at BIGINT NOT NULL,
	duration_ns BIGINT NOT NULL,
	upstreams   INTEGER NOT NULL,
	resolved    INTEGER NOT NULL,
	unchanged   INTEGER NOT NULL,
	failed      INTEGER NOT NULL,
	deferred    INTEGER NOT NULL,
	installs    INTEGER NOT NULL,
	queued      INTEGER NOT NULL,
	superseded  INTEGER NOT NULL,
	errors      TEXT NOT NULL,
	error       TEXT NOT NULL
)`, table, serial)})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{"DROP TABLE IF EXISTS " + table})
		}),
	})
}

// sweepCols are the columns of a record but its id, in the order of
// sweepArgs and sweepDest.
const sweepCols = "holder, started_at, finished_at, duration_ns, upstreams, resolved, unchanged, failed, deferred, installs, queued, superseded, errors, error"

// sweepErrorJSON is the stored shape of one storage.SweepError.
type sweepErrorJSON struct {
	Source string `json:"source"`
	Ref    string `json:"ref"`
	Error  string `json:"error"`
}

// RecordSweep implements storage.Store.
func (s *Store) RecordSweep(ctx context.Context, r storage.SweepRecord) (storage.SweepRecord, error) {
	if err := r.Validate(); err != nil {
		return storage.SweepRecord{}, fmt.Errorf("bunstore: %w", err)
	}
	r.StartedAt, r.FinishedAt = utc(r.StartedAt), utc(r.FinishedAt)
	errs := make([]sweepErrorJSON, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = sweepErrorJSON(e)
	}
	errsJSON, err := json.Marshal(errs)
	if err != nil {
		return storage.SweepRecord{}, fmt.Errorf("bunstore: record sweep: %w", err)
	}
	table := s.t.sweeps
	insert := fmt.Sprintf(`INSERT INTO %s (%s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`, table, sweepCols)
	// The record at offset SweepsKept from the newest is the newest one
	// to go; with fewer records the subquery is NULL and nothing goes.
	prune := fmt.Sprintf(`DELETE FROM %[1]s WHERE id <= (SELECT id FROM %[1]s ORDER BY id DESC LIMIT 1 OFFSET %[2]d)`, table, storage.SweepsKept)
	err = s.transact(ctx, "record sweep", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, insert,
			r.Holder, r.StartedAt.UnixMicro(), r.FinishedAt.UnixMicro(), int64(r.Duration),
			r.Upstreams, r.Resolved, r.Unchanged, r.Failed, r.Deferred, r.Installs, r.Queued, r.Superseded,
			string(errsJSON), r.Error,
		).Scan(&r.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, prune)
		return err
	})
	if err != nil {
		return storage.SweepRecord{}, err
	}
	return r, nil
}

// ListSweeps implements storage.Store.
func (s *Store) ListSweeps(ctx context.Context, p storage.ListSweepsParams) ([]storage.SweepRecord, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list sweeps: %w", err)
	}
	var w where
	if p.BeforeID > 0 {
		w.add("id < ?", p.BeforeID)
	}
	query := fmt.Sprintf(`SELECT id, %s FROM %s%s ORDER BY id DESC LIMIT %s`, sweepCols, s.t.sweeps, w.String(), w.arg(p.Limit))
	return queryAll(ctx, s, "list sweeps", scanSweep, query, w.args...)
}

// scanSweep reads one row of SELECT id, sweepCols.
func scanSweep(row scanner) (storage.SweepRecord, error) {
	var (
		r                 storage.SweepRecord
		started, finished int64
		duration          int64
		errsJSON          string
	)
	if err := row.Scan(&r.ID, &r.Holder, &started, &finished, &duration,
		&r.Upstreams, &r.Resolved, &r.Unchanged, &r.Failed, &r.Deferred, &r.Installs, &r.Queued, &r.Superseded,
		&errsJSON, &r.Error); err != nil {
		return storage.SweepRecord{}, err
	}
	var errs []sweepErrorJSON
	if err := json.Unmarshal([]byte(errsJSON), &errs); err != nil {
		return storage.SweepRecord{}, fmt.Errorf("sweep record %d has errors that are not JSON (the database is corrupted): %w", r.ID, opaque(err))
	}
	for _, e := range errs {
		r.Errors = append(r.Errors, storage.SweepError(e))
	}
	r.StartedAt, r.FinishedAt = time.UnixMicro(started).UTC(), time.UnixMicro(finished).UTC()
	r.Duration = time.Duration(duration)
	return r, nil
}
