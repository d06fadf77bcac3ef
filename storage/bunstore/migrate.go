package bunstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/tracking"
)

// Migrate creates or upgrades the Store's tables. It is safe to call on
// every start and from several processes at once: it records applied
// migrations in the table "<prefix>migrations" and holds bun/migrate's lock
// (a row in "<prefix>migration_locks") while it runs; a concurrent caller
// waits for the lock (at most Config.MigrationLockTimeout) and then finds
// nothing left to do.
//
// A process that crashed while migrating leaves its lock row behind; after
// the timeout Migrate fails with an error that says which row to delete.
func (s *Store) Migrate(ctx context.Context) error {
	m := s.migrator(s.Migrations())
	if err := s.initMigrator(ctx, m); err != nil {
		return err
	}
	if err := s.lockMigrator(ctx, m); err != nil {
		return err
	}
	defer func() {
		// Unlock even when ctx has been cancelled, or the lock stays taken.
		_ = m.Unlock(context.WithoutCancel(ctx))
	}()
	if _, err := m.Migrate(ctx); err != nil {
		return interpretError(ctx, "migrate", err)
	}
	return nil
}

// migrator runs ms against the Store's migration and lock tables.
func (s *Store) migrator(ms *migrate.Migrations) *migrate.Migrator {
	return migrate.NewMigrator(s.db, ms,
		migrate.WithTableName(s.t.migrations),
		migrate.WithLocksTableName(s.t.migrationLocks),
		migrate.WithMarkAppliedOnSuccess(true),
	)
}

// initMigrator creates the migration tables. Two Postgres sessions running
// CREATE TABLE IF NOT EXISTS at once can collide on the catalog's unique
// index; the loser retries and finds the tables there.
func (s *Store) initMigrator(ctx context.Context, m *migrate.Migrator) error {
	var err error
	for range 5 {
		if err = m.Init(ctx); err == nil {
			return nil
		}
		if err = interpretError(ctx, "migrate: create migration tables", err); !errors.Is(err, tracking.ErrConflict) {
			return err
		}
	}
	return err
}

// lockMigrator takes bun/migrate's lock, waiting while another migrator
// holds it. bun's Lock does not wait: it fails on the lock row's unique
// constraint, so this polls with a growing delay.
func (s *Store) lockMigrator(ctx context.Context, m *migrate.Migrator) error {
	deadline := time.Now().Add(s.cfg.lockTimeout)
	delay := 10 * time.Millisecond
	for {
		err := m.Lock(ctx)
		if err == nil {
			return nil
		}
		if err = interpretError(ctx, "migrate: lock", err); !errors.Is(err, tracking.ErrConflict) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bunstore: migrate: another migration has held the lock for over %s; if none is running (a process crashed while migrating), delete its row: DELETE FROM %s WHERE table_name = '%s'",
				s.cfg.lockTimeout, s.t.migrationLocks, s.t.migrations)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("bunstore: migrate: waiting for the migration lock: %w", ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}
