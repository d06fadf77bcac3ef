package bunstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/plugindrift/plugindrift/tracking"
)

// interpretError is the one place where database errors become plugindrift
// errors:
//
//   - errors this package built around a tracking sentinel pass through;
//   - sql.ErrNoRows → tracking.ErrNotFound;
//   - a unique violation (Postgres SQLSTATE 23505, SQLite's UNIQUE or
//     PRIMARY KEY constraint) → tracking.ErrConflict;
//   - any error while ctx is done → ctx.Err() (context.Canceled or
//     context.DeadlineExceeded), whatever the driver made of it;
//   - anything else keeps its message but not its type: callers never get a
//     pgx or sqlite error to match.
//
// Every result is wrapped once as "bunstore: <op>: …".
func interpretError(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case isOwn(err):
		return fmt.Errorf("bunstore: %s: %w", op, err)
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("bunstore: %s: %w", op, tracking.ErrNotFound)
	case ctx.Err() != nil:
		return fmt.Errorf("bunstore: %s: %w", op, ctx.Err())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("bunstore: %s: %w", op, err)
	case isUniqueViolation(err):
		return fmt.Errorf("bunstore: %s: %w", op, tracking.ErrConflict)
	default:
		return fmt.Errorf("bunstore: %s: %w", op, opaque(err))
	}
}

// isOwn reports whether err wraps a tracking sentinel: this package and
// package storage's validation made it, no driver did.
func isOwn(err error) bool {
	for _, target := range []error{tracking.ErrNotFound, tracking.ErrConflict, tracking.ErrBusy, tracking.ErrClaimLost, tracking.ErrInvalidArgument} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// isUniqueViolation reports a row or object that exists already:
// unique_violation (23505), and duplicate_table (42P07) and
// duplicate_object (42710), which concurrent CREATE … IF NOT EXISTS raise
// on Postgres when two sessions create the same table at once.
func isUniqueViolation(err error) bool {
	exists := func(code string) bool { return code == "23505" || code == "42P07" || code == "42710" }
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return exists(pgErr.Code)
	}
	// Other Postgres drivers a host may have opened its bun.DB with.
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		return exists(state.SQLState())
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// backendError carries a driver error's message without its type. It
// still matches the database/sql sentinels that describe the connection
// rather than the driver.
type backendError struct{ err error }

func (e backendError) Error() string { return e.err.Error() }

func (e backendError) Is(target error) bool {
	switch target {
	case sql.ErrConnDone, sql.ErrTxDone, driver.ErrBadConn:
		return errors.Is(e.err, target)
	}
	return false
}

func opaque(err error) error {
	if err == nil {
		return nil
	}
	return backendError{err}
}
