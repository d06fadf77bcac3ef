package pgtest_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"testing"
	"time"

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

// The child half of TestRequiredPostgresUnreachableFails: it runs only in
// the child process that test starts.
func TestChildNeedsPostgres(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") != "1" {
		return
	}
	pgtest.NewDatabase(t)
}

func TestRequiredPostgresUnreachableFails(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestChildNeedsPostgres$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"PGTEST_CHILD=1",
		pgtest.EnvRequire+"=1",
		// Port 1 on loopback: nothing listens there.
		pgtest.EnvDSN+"=postgres://nobody@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=5",
	)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the child must fail, not skip:\n%s", out)
	assert.Contains(t, string(out), "--- FAIL: TestChildNeedsPostgres")
	assert.Contains(t, string(out), pgtest.EnvDSN)
	assert.Contains(t, string(out), "initdb/pg_ctl", "the message says how to provide Postgres")
}

func TestStopStart(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	db := open(t, dsn)
	_, err := db.ExecContext(ctx, "CREATE TABLE kept (x int)")
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, "INSERT INTO kept VALUES (1)")
	require.NoError(t, err)

	pgtest.Stop(t)
	down := open(t, dsn)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.Error(t, down.PingContext(pctx), "nothing answers while the server is stopped")

	pgtest.Start(t)
	var n int
	require.NoError(t, open(t, dsn).QueryRowContext(ctx, "SELECT count(*) FROM kept").Scan(&n), "the same DSN works again")
	assert.Equal(t, 1, n, "what was committed survives")
}

func TestStoppedServerStartsAgainAfterTheTest(t *testing.T) {
	var dsn string
	t.Run("inner", func(t *testing.T) {
		dsn = pgtest.NewDatabase(t)
		pgtest.Stop(t)
	})
	if dsn == "" {
		t.Skip("inner test skipped: no Postgres")
	}
	// The inner test's cleanup started the server again (and dropped its
	// database); a new database works.
	db := open(t, pgtest.NewDatabase(t))
	require.NoError(t, db.PingContext(context.Background()))
}
