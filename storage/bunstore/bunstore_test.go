package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	"modernc.org/sqlite"

	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/storetest"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// t0 has sub-second precision on purpose.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// backend names a database and how to get a fresh one.
type backend struct {
	name string
	dsn  func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "store.db") }},
	{"postgres", pgtest.NewDatabase},
}

// openStore opens dsn and closes the store when the test ends.
func openStore(t testing.TB, dsn string, cfg *Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

// newStore returns a migrated store on a fresh database of b.
func (b backend) newStore(t testing.TB) *Store {
	t.Helper()
	s := openStore(t, b.dsn(t), nil)
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// migrateAllBut applies every migration of s except the one named skip, so
// a test can write rows as the version before skip did and then Migrate.
func migrateAllBut(t testing.TB, s *Store, skip string) {
	t.Helper()
	ctx := context.Background()
	before := migrate.NewMigrations()
	found := false
	for _, m := range s.Migrations().Sorted() {
		if m.Name == skip {
			found = true
			continue
		}
		before.Add(m)
	}
	require.True(t, found, "no migration named %s", skip)
	m := s.migrator(before)
	require.NoError(t, m.Init(ctx))
	_, err := m.Migrate(ctx)
	require.NoError(t, err)
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

func TestConformance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		storetest.Run(t, func(t *testing.T) storage.Store { return b.newStore(t) })
	})
}

// TestConformanceInMemory runs the suite on sqlite://:memory:, whose pool
// has a single connection: a method that needs a second connection while
// it holds the first would hang here.
func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storage.Store {
		s := openStore(t, "sqlite://:memory:", nil)
		require.NoError(t, s.Migrate(context.Background()))
		return s
	})
}

// fixture helpers

func key(t testing.TB, source, ref string) tracking.UpstreamKey {
	t.Helper()
	src, err := tracking.ParseSource(source)
	require.NoError(t, err)
	r, err := tracking.ParseRef(ref)
	require.NoError(t, err)
	return tracking.UpstreamKey{Source: src, Ref: r}
}

func install(t testing.TB, s *Store, workspace, plugin string, k tracking.UpstreamKey, commit string) tracking.Install {
	t.Helper()
	in, err := s.UpsertInstall(context.Background(), tracking.Install{
		WorkspaceID: workspace, PluginName: plugin, Source: k.Source, Ref: k.Ref, InstalledSHA: commit, UpdatedAt: t0,
	})
	require.NoError(t, err)
	return in
}

func TestOpenRejectsBadDSNs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for dsn, want := range map[string]string{
		"":                              "no scheme",
		"store.db":                      "no scheme",
		"mysql://u@h/db":                `unsupported DSN scheme "mysql"`,
		"file:///tmp/x.db":              `unsupported DSN scheme "file"`,
		"sqlite://":                     "no path",
		"sqlite:///tmp/x.db?mode=ro":    "no query parameters",
		"sqlite:///tmp/x.db#frag":       "no query parameters",
		"sqlite:///tmp/%zz.db":          "path",
		"sqlite://" + dir + "/no/such/": "open: ping",
		"postgres://u@h:notaport/db":    "postgres DSN",
	} {
		s, err := Open(ctx, dsn, nil)
		if assert.Error(t, err, dsn) {
			assert.Contains(t, err.Error(), want, dsn)
			assert.True(t, strings.HasPrefix(err.Error(), "bunstore: "), err.Error())
		}
		assert.Nil(t, s)
	}

	for _, cfg := range []*Config{
		{TablePrefix: "Bad"}, {TablePrefix: "1x_"}, {TablePrefix: "a-b"}, {TablePrefix: "x; DROP TABLE y"},
		{TablePrefix: strings.Repeat("a", 32)}, {BusyTimeout: -1}, {MaxOpenConns: -1},
	} {
		_, err := Open(ctx, "sqlite://:memory:", cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	_, err := New(nil, nil)
	assert.Error(t, err)
}

func TestOpenDSNs(t *testing.T) {
	ctx := context.Background()
	smoke := func(t *testing.T, s *Store) {
		t.Helper()
		require.NoError(t, s.Migrate(ctx))
		k := key(t, "github://acme/a", "branch:main")
		install(t, s, "ws", "p", k, sha(1))
		got, err := s.GetInstall(ctx, "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(1), got.InstalledSHA)
	}
	t.Run("sqlite absolute", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sub dir", "a.db")
		require.True(t, filepath.IsAbs(path))
		_, err := Open(ctx, "sqlite://"+path, nil)
		require.Error(t, err, "the directory must exist")
		path = filepath.Join(t.TempDir(), "a b%.db")
		s := openStore(t, "sqlite://"+strings.ReplaceAll(path, "%", "%25"), nil)
		smoke(t, s)
		assert.Equal(t, dialect.SQLite, s.DB().Dialect().Name())
		var mode string
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode))
		assert.Equal(t, "wal", mode)
		var fk int
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk))
		assert.Equal(t, 1, fk)
		var busy int
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy))
		assert.Equal(t, 5000, busy)
		assert.FileExists(t, path)
	})
	t.Run("sqlite memory", func(t *testing.T) {
		s := openStore(t, "sqlite://:memory:", nil)
		smoke(t, s)
		// One database for the whole pool: every goroutine sees the install.
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := s.GetInstall(ctx, "ws", "p")
				assert.NoError(t, err)
			})
		}
		wg.Wait()
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		s := openStore(t, dsn, nil)
		smoke(t, s)
		assert.Equal(t, dialect.PG, s.DB().Dialect().Name())
		s2 := openStore(t, "postgresql"+strings.TrimPrefix(dsn, "postgres"), &Config{MaxOpenConns: 2})
		_, err := s2.GetInstall(ctx, "ws", "p")
		require.NoError(t, err, "postgresql:// names the same database")
	})
}

func TestRelativeSQLitePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o755))
	s := openStore(t, "sqlite://data/rel.db", nil)
	require.NoError(t, s.Migrate(context.Background()))
	assert.FileExists(t, filepath.Join(dir, "data", "rel.db"))
}

func TestNewUsesHostDB(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "host.db")
	sqldb, err := sql.Open("sqlite", path+"?_txlock=immediate&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()

	s, err := New(db, &Config{TablePrefix: "host_"})
	require.NoError(t, err)
	assert.Same(t, db, s.DB())
	require.NoError(t, s.Migrate(ctx))
	install(t, s, "ws", "p", key(t, "github://acme/a", "branch:main"), sha(1))
	require.NoError(t, s.Close())
	require.NoError(t, db.PingContext(ctx), "Close leaves a host's db open")
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM host_installs").Scan(&n))
	assert.Equal(t, 1, n)
}

func TestMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.dsn(t)
		s := openStore(t, dsn, nil)

		// Before Migrate there are no tables.
		_, err := s.GetInstall(ctx, "ws", "p")
		require.Error(t, err)
		assert.NotErrorIs(t, err, tracking.ErrNotFound)

		// Two processes migrating at once: both succeed, once.
		other := openStore(t, dsn, nil)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, st := range []*Store{s, other} {
			wg.Go(func() {
				<-start
				assert.NoError(t, st.Migrate(ctx))
			})
		}
		close(start)
		wg.Wait()
		require.NoError(t, s.Migrate(ctx), "idempotent")

		var n int
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "SELECT count(*) FROM plugindrift_migrations").Scan(&n))
		assert.Equal(t, len(s.Migrations().Sorted()), n, "each migration recorded once")
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "SELECT count(*) FROM plugindrift_migration_locks").Scan(&n))
		assert.Zero(t, n, "lock released")
		for _, table := range []string{"installs", "upstreams", "updates", "leases"} {
			assert.True(t, tableExists(t, s, "plugindrift_"+table), table)
		}
		_, err = s.GetInstall(ctx, "ws", "p")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
	})
}

func TestMigrateWaitsForLockThenTimesOut(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "s.db"), &Config{MigrationLockTimeout: 50 * time.Millisecond})
	require.NoError(t, s.Migrate(ctx))
	// A crashed migrator's lock row.
	_, err := s.sqldb.ExecContext(ctx, "INSERT INTO plugindrift_migration_locks (table_name) VALUES ('plugindrift_migrations')")
	require.NoError(t, err)
	err = s.Migrate(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "DELETE FROM plugindrift_migration_locks")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, s.Migrate(cctx), context.Canceled)
}

func TestMigrationsInHostMigrator(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := openStore(t, b.dsn(t), &Config{TablePrefix: "pd_"})
		ms := migrate.NewMigrations()
		for _, m := range s.Migrations().Sorted() {
			ms.Add(m)
		}
		m := migrate.NewMigrator(s.DB(), ms, migrate.WithTableName("host_migrations"), migrate.WithLocksTableName("host_migration_locks"))
		require.NoError(t, m.Init(ctx))
		group, err := m.Migrate(ctx)
		require.NoError(t, err)
		assert.Len(t, group.Migrations, len(s.Migrations().Sorted()))
		assert.True(t, tableExists(t, s, "pd_updates"))
		install(t, s, "ws", "p", key(t, "github://acme/a", "branch:main"), sha(1))

		_, err = m.Rollback(ctx)
		require.NoError(t, err)
		assert.False(t, tableExists(t, s, "pd_updates"), "down drops the tables")
	})
}

func TestTablePrefixIsolates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.dsn(t)
		def := openStore(t, dsn, nil)
		custom := openStore(t, dsn, &Config{TablePrefix: "tenant_a_"})
		require.NoError(t, def.Migrate(ctx))
		require.NoError(t, custom.Migrate(ctx))
		assert.True(t, tableExists(t, custom, "tenant_a_installs"))
		assert.True(t, tableExists(t, custom, "tenant_a_migrations"))

		k := key(t, "github://acme/a", "branch:main")
		install(t, custom, "ws", "p", k, sha(1))
		_, err := def.GetInstall(ctx, "ws", "p")
		assert.ErrorIs(t, err, tracking.ErrNotFound, "the default tables do not see it")
		_, err = custom.GetInstall(ctx, "ws", "p")
		assert.NoError(t, err)
	})
}

func tableExists(t *testing.T, s *Store, name string) bool {
	t.Helper()
	query := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
	if s.dialect == dialect.PG {
		query = "SELECT count(*) FROM information_schema.tables WHERE table_name = $1"
	}
	var n int
	require.NoError(t, s.sqldb.QueryRowContext(context.Background(), query, name).Scan(&n))
	return n == 1
}

// insertEntry writes a queue row directly, bypassing the store's rules.
func insertEntry(ctx context.Context, s *Store, workspace, plugin string, status tracking.UpdateStatus) error {
	_, err := s.sqldb.ExecContext(ctx, `INSERT INTO `+s.t.updates+` (workspace_id, plugin_name, source_raw, tracked_ref, to_sha, kind, status)
VALUES ($1, $2, 'github://acme/a', 'branch:main', $3, 'new-commit', $4)`, workspace, plugin, sha(2), string(status))
	return interpretError(ctx, "insert entry", err)
}

func TestOneOpenEntryPerInstallIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.newStore(t)
		require.NoError(t, insertEntry(ctx, s, "ws", "p", tracking.StatusPending))
		for _, st := range []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying} {
			err := insertEntry(ctx, s, "ws", "p", st)
			assert.ErrorIs(t, err, tracking.ErrConflict, "second open entry (%s)", st)
		}
		// Terminal entries are history: any number of them.
		for _, st := range []tracking.UpdateStatus{tracking.StatusApplied, tracking.StatusDismissed, tracking.StatusSuperseded, tracking.StatusSuperseded} {
			assert.NoError(t, insertEntry(ctx, s, "ws", "p", st))
		}
		// Another install has its own open slot.
		assert.NoError(t, insertEntry(ctx, s, "ws", "q", tracking.StatusApplying))
		assert.NoError(t, insertEntry(ctx, s, "ws2", "p", tracking.StatusPending))
		// Unknown statuses are refused by the table itself.
		assert.Error(t, insertEntry(ctx, s, "ws3", "p", "open"))
	})
}

func TestErrorTranslation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.newStore(t)
		noDriverType := func(t *testing.T, err error) {
			t.Helper()
			var pgErr *pgconn.PgError
			var liteErr *sqlite.Error
			assert.False(t, errors.As(err, &pgErr), "pgx error type escaped: %v", err)
			assert.False(t, errors.As(err, &liteErr), "sqlite error type escaped: %v", err)
			assert.True(t, strings.HasPrefix(err.Error(), "bunstore: "), err.Error())
		}

		_, err := s.GetInstall(ctx, "ws", "none")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
		noDriverType(t, err)
		_, err = s.GetUpdate(ctx, 42)
		assert.ErrorIs(t, err, tracking.ErrNotFound)

		require.NoError(t, insertEntry(ctx, s, "ws", "p", tracking.StatusPending))
		err = insertEntry(ctx, s, "ws", "p", tracking.StatusPending)
		assert.ErrorIs(t, err, tracking.ErrConflict)
		noDriverType(t, err)

		// A driver error that is neither keeps its message, not its type.
		_, raw := s.sqldb.ExecContext(ctx, "SELECT * FROM no_such_table")
		require.Error(t, raw)
		err = interpretError(ctx, "probe", raw)
		assert.Contains(t, err.Error(), "no_such_table")
		assert.NotErrorIs(t, err, tracking.ErrNotFound)
		assert.NotErrorIs(t, err, tracking.ErrConflict)
		noDriverType(t, err)

		// Cancelled and expired contexts come back as such.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.GetInstall(cctx, "ws", "p")
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Reconcile(cctx, storage.ReconcileParams{Key: key(t, "github://acme/a", "branch:main"), SHA: sha(2), Now: t0})
		assert.ErrorIs(t, err, context.Canceled)
		dctx, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel2()
		_, err = s.ListUpdates(dctx, storage.ListUpdatesParams{Limit: 10})
		assert.ErrorIs(t, err, context.DeadlineExceeded)

		// Bad arguments are refused before any I/O, as invalid.
		_, err = s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 0})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument)
		_, err = s.AcquireLease(ctx, storage.LeaseParams{Name: "l", Holder: "h"})
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "no TTL")
		err = s.RecordUpstreamFailure(ctx, key(t, "local://p", "none"), "x", t0)
		assert.ErrorIs(t, err, tracking.ErrInvalidArgument)

		// A closed store fails with a wrapped error, not a sentinel.
		closed := openStore(t, b.dsn(t), nil)
		require.NoError(t, closed.Close())
		_, err = closed.GetInstall(ctx, "ws", "p")
		require.Error(t, err)
		assert.NotErrorIs(t, err, tracking.ErrNotFound)
		noDriverType(t, err)
	})
}

// storeWithInstalls returns a migrated store of b where plugin "p" of
// workspaces ws-00, ws-01, … (n of them) follows the returned key at
// sha(1).
func (b backend) storeWithInstalls(t *testing.T, n int) (*Store, tracking.UpstreamKey) {
	t.Helper()
	s := b.newStore(t)
	k := key(t, "git+https://git.example.com/acme/a.git", "branch:main")
	for i := range n {
		install(t, s, fmt.Sprintf("ws-%02d", i), "p", k, sha(1))
	}
	return s, k
}

// TestReconcileRace: 16 sweepers reconcile the same upstream at once.
func TestReconcileRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const installs = 20
		s, k := b.storeWithInstalls(t, installs)
		race := func(round int, commit func(g int) string) (sum storage.ReconcileResult) {
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range 16 {
				wg.Go(func() {
					<-start
					res, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: commit(g), Now: t0.Add(time.Duration(round) * time.Minute)})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					sum.Queued += res.Queued
					sum.Superseded += res.Superseded
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			return sum
		}
		openPerInstall := func() map[string]int {
			rows, err := s.sqldb.QueryContext(ctx, "SELECT workspace_id, count(*) FROM "+s.t.updates+" WHERE status IN ('pending', 'applying') GROUP BY workspace_id")
			require.NoError(t, err)
			defer rows.Close()
			out := map[string]int{}
			for rows.Next() {
				var ws string
				var n int
				require.NoError(t, rows.Scan(&ws, &n))
				out[ws] = n
			}
			require.NoError(t, rows.Err())
			return out
		}

		sum := race(0, func(int) string { return sha(2) })
		assert.Equal(t, installs, sum.Queued, "each install queued exactly once in all")
		open := openPerInstall()
		assert.Len(t, open, installs)
		for ws, n := range open {
			assert.Equal(t, 1, n, ws)
		}

		sum = race(1, func(int) string { return sha(3) })
		assert.Equal(t, installs, sum.Queued)
		assert.Equal(t, installs, sum.Superseded)

		// Sweepers that disagree about upstream: still one open entry each.
		race(2, func(g int) string { return sha(4 + g%2) })
		for ws, n := range openPerInstall() {
			assert.Equal(t, 1, n, ws)
		}
		assert.Len(t, openPerInstall(), installs)
	})
}

// TestSQLiteWritesQueueInProcess: on SQLite every write of one Store,
// single statements as well as transactions, waits for the others on the
// Store's writer mutex, so none reaches the busy handler even with a
// busy timeout of 1ms.
func TestSQLiteWritesQueueInProcess(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, "sqlite://"+filepath.Join(t.TempDir(), "s.db"), &Config{BusyTimeout: time.Millisecond})
	require.NoError(t, s.Migrate(ctx))
	k := key(t, "git+https://git.example.com/acme/a.git", "branch:main")
	for i := range 50 {
		install(t, s, fmt.Sprintf("ws-%02d", i), "p", k, sha(1))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range 20 {
				_, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2 + (g+r)%3), Now: t0})
				assert.NoError(t, err)
			}
		})
		wg.Go(func() {
			name := fmt.Sprintf("lease-%d", g)
			for range 20 {
				_, err := s.AcquireLease(ctx, storage.LeaseParams{Name: name, Holder: "h", TTL: time.Minute})
				assert.NoError(t, err)
				assert.NoError(t, s.RecordUpstreamFailure(ctx, k, "timeout", t0))
				assert.NoError(t, s.ReleaseLease(ctx, name, "h"))
			}
		})
		wg.Go(func() {
			for range 20 {
				us, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 5, Statuses: []tracking.UpdateStatus{tracking.StatusPending}})
				assert.NoError(t, err)
				for _, u := range us {
					_, err := s.ClaimUpdate(ctx, storage.ClaimUpdateParams{ID: u.ID, Token: "tok", TTL: time.Minute})
					if errors.Is(err, tracking.ErrConflict) || errors.Is(err, tracking.ErrBusy) {
						continue // superseded or claimed meanwhile
					}
					assert.NoError(t, err)
					_, err = s.ReleaseClaim(ctx, storage.ReleaseClaimParams{ID: u.ID, Token: "tok", Message: "retry", At: t0})
					if !errors.Is(err, tracking.ErrClaimLost) {
						assert.NoError(t, err)
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestInstallChangesRaceReconcile: reinstalls and uninstalls while
// sweepers reconcile never leave an open entry that contradicts its
// install.
func TestInstallChangesRaceReconcile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const installs = 8
		s, k := b.storeWithInstalls(t, installs)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for r := range 10 {
					_, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2 + (g+r)%3), Now: t0.Add(time.Duration(r) * time.Second)})
					assert.NoError(t, err)
				}
			})
		}
		for i := range installs {
			wg.Go(func() {
				ws := fmt.Sprintf("ws-%02d", i)
				for r := range 5 {
					_, err := s.UpsertInstall(ctx, tracking.Install{WorkspaceID: ws, PluginName: "p", Source: k.Source, Ref: k.Ref, InstalledSHA: sha(10 + r), UpdatedAt: t0})
					assert.NoError(t, err)
				}
				if i%2 == 0 {
					assert.NoError(t, s.DeleteInstall(ctx, ws, "p", t0))
				}
			})
		}
		wg.Wait()

		entries, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: storage.MaxLimit, Statuses: []tracking.UpdateStatus{tracking.StatusPending}})
		require.NoError(t, err)
		for _, u := range entries {
			in, err := s.GetInstall(ctx, u.WorkspaceID, u.PluginName)
			require.NoError(t, err, "open entry %d of an uninstalled plugin", u.ID)
			assert.Equal(t, in.InstalledSHA, u.FromSHA, "open entry %d starts from the installed commit", u.ID)
		}
	})
}

// TestInstallChangeWaitsForReconcile shows the Postgres locking at work:
// a reinstall or an uninstall waits while a Reconcile of its upstream is in
// flight, and then supersedes the entry that Reconcile queued.
func TestInstallChangeWaitsForReconcile(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(s *Store, k tracking.UpstreamKey) error
		reason string
	}{
		{"reinstall", func(s *Store, k tracking.UpstreamKey) error {
			_, err := s.UpsertInstall(context.Background(), tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: k.Source, Ref: k.Ref, InstalledSHA: sha(3), UpdatedAt: t0})
			return err
		}, tracking.ReasonReinstalled},
		{"uninstall", func(s *Store, k tracking.UpstreamKey) error {
			return s.DeleteInstall(context.Background(), "ws", "p", t0)
		}, tracking.ReasonUninstalled},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := backends[1].newStore(t)
			k := key(t, "github://acme/a", "branch:main")
			install(t, s, "ws", "p", k, sha(1))

			// A Reconcile in flight: it holds the upstream row and has
			// queued an entry it has not committed yet.
			tx, err := s.sqldb.BeginTx(ctx, nil)
			require.NoError(t, err)
			defer tx.Rollback()
			_, err = tx.ExecContext(ctx, s.q.upsertUpstream, slices.Concat([]any{k.Source.String(), k.Ref.String(), sha(2), t0.UnixMicro(), "", ""}, verificationArgs(tracking.Verification{}), []any{repositoryOf(k.Source)})...)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, `INSERT INTO `+s.t.updates+` (workspace_id, plugin_name, source_raw, tracked_ref, from_sha, to_sha, kind, status)
VALUES ('ws', 'p', $1, $2, $3, $4, 'new-commit', 'pending')`, k.Source.String(), k.Ref.String(), sha(1), sha(2))
			require.NoError(t, err)

			done := make(chan error, 1)
			go func() { done <- c.change(s, k) }()
			// Wait until the change is blocked on a lock.
			wait, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			for {
				var n int
				require.NoError(t, s.sqldb.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(&n))
				if n > 0 {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("the change did not wait for the upstream lock (err %v)", err)
				case <-wait.Done():
					t.Fatal("the change never waited for the upstream lock")
				case <-time.After(5 * time.Millisecond):
				}
			}
			require.NoError(t, tx.Commit())
			require.NoError(t, <-done)

			us, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10})
			require.NoError(t, err)
			require.Len(t, us, 1)
			assert.Equal(t, tracking.StatusSuperseded, us[0].Status, "the change saw the committed entry")
			assert.Equal(t, c.reason, us[0].Reason)
		})
	}
}

func TestTimesKeepMicroseconds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.newStore(t)
		k := key(t, "github://acme/a", "branch:main")
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		at := time.Date(2026, 3, 4, 10, 36, 7, 123456789, zone) // ns are dropped, zone becomes UTC

		in, err := s.UpsertInstall(ctx, tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: k.Source, Ref: k.Ref, InstalledSHA: sha(1), UpdatedAt: at})
		require.NoError(t, err)
		want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		assert.Equal(t, want, in.UpdatedAt)
		got, err := s.GetInstall(ctx, "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, want, got.UpdatedAt)
		assert.Equal(t, time.UTC, got.UpdatedAt.Location())

		// Times a Reconcile writes keep their microseconds.
		_, err = s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Now: at})
		require.NoError(t, err)
		us, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10})
		require.NoError(t, err)
		require.Len(t, us, 1)
		assert.Equal(t, want, us[0].DetectedAt)
		later := want.Add(1500 * time.Microsecond)
		res, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(3), Now: later})
		require.NoError(t, err)
		assert.Equal(t, 1, res.Superseded)
		old, err := s.GetUpdate(ctx, us[0].ID)
		require.NoError(t, err)
		assert.Equal(t, later, old.DecidedAt)

		// (Leases and apply claims expire on the database's clock, in
		// µs: storetest's LeaseExpiresByStoreClock and
		// ClaimExpiredIsRetaken.)

		up, err := s.GetUpstream(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, later, up.LastCheckedAt)
	})
}

// TestSmoke calls every Store method once.
func TestSmoke(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.newStore(t)
		k := key(t, "github://acme/a", "tag:latest")

		in := install(t, s, "ws", "p", k, sha(1))
		assert.True(t, in.Tracked())
		got, err := s.GetInstall(ctx, "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, in, got)
		ins, err := s.ListInstalls(ctx, storage.ListInstallsParams{Limit: 10})
		require.NoError(t, err)
		assert.Equal(t, []tracking.Install{in}, ins)

		ups, err := s.ListUpstreams(ctx, storage.ListUpstreamsParams{Limit: 10})
		require.NoError(t, err)
		require.Len(t, ups, 1)
		up, err := s.GetUpstream(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, ups[0], up)
		require.NoError(t, s.RecordUpstreamFailure(ctx, k, "timeout", t0))

		res, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Version: "v2.0.0", Validator: "etag", Now: t0})
		require.NoError(t, err)
		assert.Equal(t, storage.ReconcileResult{Installs: 1, Queued: 1}, res)
		us, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10, Statuses: []tracking.UpdateStatus{tracking.StatusPending}, WorkspaceID: "ws", PluginName: "p", Newest: true})
		require.NoError(t, err)
		require.Len(t, us, 1)
		u, err := s.GetUpdate(ctx, us[0].ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.KindNewVersion, u.Kind)

		u, err = s.ClaimUpdate(ctx, storage.ClaimUpdateParams{ID: u.ID, Token: "tok", TTL: time.Minute})
		require.NoError(t, err)
		u, err = s.ReleaseClaim(ctx, storage.ReleaseClaimParams{ID: u.ID, Token: "tok", Message: "disk full", At: t0})
		require.NoError(t, err)
		assert.Equal(t, 1, u.Attempts)
		_, err = s.ClaimUpdate(ctx, storage.ClaimUpdateParams{ID: u.ID, Token: "tok", TTL: time.Minute})
		require.NoError(t, err)
		u, err = s.CompleteApply(ctx, storage.CompleteApplyParams{ID: u.ID, Token: "tok", Actor: "alice", At: t0.Add(time.Second)})
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, u.Status)
		u, err = s.SetRestartError(ctx, u.ID, "exit 1")
		require.NoError(t, err)
		assert.Equal(t, "exit 1", u.RestartError)
		got, err = s.GetInstall(ctx, "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(2), got.InstalledSHA)
		assert.Equal(t, "v2.0.0", got.InstalledVersion)

		install(t, s, "ws", "q", k, sha(1))
		_, err = s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Version: "v2.0.0", Now: t0})
		require.NoError(t, err)
		us, err = s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10, PluginName: "q"})
		require.NoError(t, err)
		require.Len(t, us, 1)
		u, err = s.DismissUpdate(ctx, storage.DismissUpdateParams{ID: us[0].ID, Actor: "bob", Reason: "later", At: t0})
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusDismissed, u.Status)

		ok, err := s.AcquireLease(ctx, storage.LeaseParams{Name: "sweeper", Holder: "a", TTL: time.Minute})
		require.NoError(t, err)
		assert.True(t, ok)
		require.NoError(t, s.ReleaseLease(ctx, "sweeper", "a"))
		ok, err = s.AcquireLease(ctx, storage.LeaseParams{Name: "sweeper", Holder: "b", TTL: time.Minute})
		require.NoError(t, err)
		assert.True(t, ok)

		require.NoError(t, s.DeleteInstall(ctx, "ws", "p", t0))
		_, err = s.GetInstall(ctx, "ws", "p")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
	})
}

func TestImportInstalls(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := b.newStore(t)
		a, c := key(t, "github://acme/a", "branch:main"), key(t, "github://acme/c", "tag:latest")
		local := key(t, "local://p", "none")
		var batch []tracking.Install
		for i := range 250 {
			k := a
			if i%2 == 1 {
				k = c
			}
			batch = append(batch, tracking.Install{WorkspaceID: fmt.Sprintf("ws-%03d", i), PluginName: "p", Source: k.Source, Ref: k.Ref, InstalledSHA: sha(1), InstalledVersion: "v1", UpdatedAt: t0})
		}
		batch = append(batch, tracking.Install{WorkspaceID: "ws-local", PluginName: "p", Source: local.Source, Ref: local.Ref, UpdatedAt: t0})
		require.NoError(t, s.ImportInstalls(ctx, batch))

		for _, want := range []tracking.Install{batch[0], batch[249], batch[250]} {
			want.InstalledAt = t0
			got, err := s.GetInstall(ctx, want.WorkspaceID, want.PluginName)
			require.NoError(t, err)
			assert.Equal(t, want, got, "as UpsertInstall would have stored it")
		}
		ups, err := s.ListUpstreams(ctx, storage.ListUpstreamsParams{Limit: 10})
		require.NoError(t, err)
		assert.Len(t, ups, 2, "one upstream row per tracked key")
		res, err := s.Reconcile(ctx, storage.ReconcileParams{Key: a, SHA: sha(2), Now: t0})
		require.NoError(t, err)
		assert.Equal(t, storage.ReconcileResult{Installs: 125, Queued: 125}, res)

		// Already recorded, or twice in one call: nothing is imported.
		fresh := tracking.Install{WorkspaceID: "ws-new", PluginName: "p", Source: a.Source, Ref: a.Ref, InstalledSHA: sha(1), UpdatedAt: t0}
		err = s.ImportInstalls(ctx, []tracking.Install{fresh, batch[7]})
		assert.ErrorIs(t, err, tracking.ErrConflict)
		err = s.ImportInstalls(ctx, []tracking.Install{fresh, fresh})
		assert.ErrorIs(t, err, tracking.ErrConflict)
		_, err = s.GetInstall(ctx, "ws-new", "p")
		assert.ErrorIs(t, err, tracking.ErrNotFound)

		err = s.ImportInstalls(ctx, []tracking.Install{{WorkspaceID: "bad id", PluginName: "p", Source: a.Source, Ref: a.Ref}})
		assert.ErrorIs(t, err, tracking.ErrInvalidWorkspaceID)
		err = s.ImportInstalls(ctx, []tracking.Install{fresh, {WorkspaceID: "ws-new2", PluginName: "p", Source: a.Source, Ref: a.Ref, InstalledSHA: "abc"}})
		assert.ErrorIs(t, err, tracking.ErrInvalidSHA, "held to tracking.Install.Validate")
		_, err = s.GetInstall(ctx, "ws-new", "p")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
		require.NoError(t, s.ImportInstalls(ctx, nil))
	})
}

// TestQueryPlansUseIndexes checks that the statements a sweep and the
// admin API run can look their rows up through indexes: no step of the
// plan reads a whole table or index. On Postgres, sequential scans and
// hash and merge joins are disabled first, so a full scan left in the plan
// means that no index applies (on tables this small the planner would
// rightly prefer scanning).
func TestQueryPlansUseIndexes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.newStore(t)
		args := []any{"github://acme/a", "branch:main", sha(2), int64(1)}
		verify := verificationArgs(tracking.Verification{State: tracking.VerificationVerified, Signer: "ann", Required: true})
		statements := map[string][]any{
			s.q.reconcileStats:          args[:3],
			s.q.reconcileSupersede:      args,
			s.q.reconcileTouch:          slices.Concat(args, verify),
			s.q.reconcileQueue:          slices.Concat(args, []any{"v1", "new-commit", "," + sha(1) + ",", "x"}, verify),
			s.q.integrity.installedSHAs: {"github://acme/a", "branch:main"},
			s.q.integrity.activeHold:    {"ws", "p", sha(2)},
			s.q.supersedeReinstalled:    {"ws", "p", sha(2), int64(1)},
			s.q.supersedeUninstalled:    {"ws", "p", int64(1)},
			s.q.listUpstreams:           {0, 100},
			s.q.claimUpdate:             {1, int64(2), "tok"},
			s.q.extendClaim:             {1, "tok", 2},
			s.q.completeUpdate:          {1, 1, "a", "tok", "", ""},
			s.q.releaseClaim:            {1, "m", "tok"},
			s.q.acquireLease:            {"l", "h", int64(2)},
		}
		for _, p := range []storage.ListUpdatesParams{
			{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 50},
			{Statuses: []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying}, AfterID: 7, Limit: 50},
			{WorkspaceID: "ws", Limit: 50},
			{WorkspaceID: "ws", PluginName: "p", Newest: true, AfterID: 10, Limit: 50},
		} {
			q, a := s.listUpdatesSQL(p)
			statements[q] = a
		}
		for _, p := range []storage.ListInstallsParams{
			{WorkspaceID: "ws", Limit: 10}, {AfterWorkspaceID: "ws", AfterPluginName: "p", Limit: 10},
		} {
			q, a := s.listInstallsSQL(p)
			statements[q] = a
		}
		for query, args := range statements {
			plan := explain(t, s, query, args...)
			if bad := fullScans(plan); len(bad) > 0 {
				t.Errorf("full scan %q in the plan of\n%s\n\n%s", bad, query, strings.Join(plan, "\n"))
			}
		}
	})
}

// fullScans returns the steps of a query plan that read a whole table or
// index instead of looking rows up: SQLite's "SCAN t" (a lookup is
// "SEARCH t"), Postgres's "Seq Scan" and index scans without an "Index
// Cond".
func fullScans(plan []string) []string {
	var bad []string
	for i, line := range plan {
		step := strings.TrimLeft(strings.TrimPrefix(strings.TrimSpace(line), "->"), " ")
		switch {
		case strings.HasPrefix(step, "SCAN ") && step != "SCAN CONSTANT ROW":
			bad = append(bad, step)
		case strings.HasPrefix(step, "Seq Scan"):
			bad = append(bad, step)
		case strings.HasPrefix(step, "Index Scan") || strings.HasPrefix(step, "Index Only Scan") || strings.HasPrefix(step, "Bitmap Index Scan"):
			cond := false
			for _, detail := range plan[i+1:] {
				detail = strings.TrimSpace(detail)
				if strings.HasPrefix(detail, "->") {
					break
				}
				cond = cond || strings.HasPrefix(detail, "Index Cond:")
			}
			if !cond {
				bad = append(bad, step)
			}
		}
	}
	return bad
}

func explain(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := s.sqldb.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	prefix := "EXPLAIN QUERY PLAN "
	if s.dialect == dialect.PG {
		for _, setting := range []string{"enable_seqscan", "enable_hashjoin", "enable_mergejoin"} {
			_, err := conn.ExecContext(ctx, "SET "+setting+" = off")
			require.NoError(t, err)
			defer conn.ExecContext(ctx, "RESET "+setting)
		}
		prefix = "EXPLAIN "
	}
	rows, err := conn.QueryContext(ctx, prefix+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	require.NoError(t, rows.Err())
	return plan
}

func BenchmarkReconcile(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storetest.BenchmarkReconcile(b, func(b *testing.B) storage.Store { return be.newStore(b) })
		})
	}
}
