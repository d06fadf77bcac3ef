package pgtest_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestNewDatabaseIsolated(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	require.NotEqual(t, dsnA, dsnB)
	a, b := open(t, dsnA), open(t, dsnB)

	var nameA, nameB string
	require.NoError(t, a.QueryRowContext(ctx, "SELECT current_database()").Scan(&nameA))
	require.NoError(t, b.QueryRowContext(ctx, "SELECT current_database()").Scan(&nameB))
	assert.NotEqual(t, nameA, nameB)

	// A table made in one database is not in the other.
	_, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (x int)")
	require.NoError(t, err)
	_, err = a.ExecContext(ctx, "INSERT INTO only_in_a VALUES (1)")
	require.NoError(t, err)
	var n int
	require.NoError(t, a.QueryRowContext(ctx, "SELECT count(*) FROM only_in_a").Scan(&n))
	assert.Equal(t, 1, n)
	require.NoError(t, b.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n))
	assert.Zero(t, n)

	// New databases are empty.
	require.NoError(t, b.QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n))
	assert.Zero(t, n)
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) { dsn = pgtest.NewDatabase(t) })
	if t.Failed() || dsn == "" {
		t.Skip("inner test skipped: no Postgres")
	}
	// The maintenance database of the same server still answers; the test's
	// own database is gone.
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	name := cfg.Database
	cfg.Database = "postgres"
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	assert.Zero(t, n, "database %s dropped", name)
}
