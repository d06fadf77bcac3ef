package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
)

var _ storage.Store = (*Store)(nil)

// DefaultTablePrefix is the table prefix used when Config.TablePrefix is
// empty.
const DefaultTablePrefix = "plugindrift_"

var tablePrefixRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,30}$`)

// Config configures a Store. A nil *Config means every default.
type Config struct {
	// TablePrefix is prepended to every table and index name. It must match
	// ^[a-z_][a-z0-9_]{0,30}$. Defaults to "plugindrift_".
	TablePrefix string

	// BusyTimeout is how long a SQLite statement waits for another
	// connection's write lock before failing. Used by Open only. Defaults
	// to 5s.
	BusyTimeout time.Duration

	// MaxOpenConns caps the connection pool that Open creates. Defaults to
	// 0: no cap for Postgres and file SQLite databases. An in-memory SQLite
	// database always uses exactly one connection, whatever this says.
	MaxOpenConns int

	// MigrationLockTimeout is how long Migrate waits for another process's
	// migration lock. Defaults to 1 minute.
	MigrationLockTimeout time.Duration
}

// settings is a Config with its defaults applied and validated.
type settings struct {
	prefix       string
	busyTimeout  time.Duration
	maxOpenConns int
	lockTimeout  time.Duration
}

func (c *Config) settings() (settings, error) {
	s := settings{prefix: DefaultTablePrefix, busyTimeout: 5 * time.Second, lockTimeout: time.Minute}
	if c == nil {
		return s, nil
	}
	if c.TablePrefix != "" {
		if !tablePrefixRE.MatchString(c.TablePrefix) {
			return s, fmt.Errorf("bunstore: table prefix %s: want lowercase letters, digits and '_', not starting with a digit, at most 31 bytes (e.g. %q)", redact.Quote(c.TablePrefix), DefaultTablePrefix)
		}
		s.prefix = c.TablePrefix
	}
	if c.BusyTimeout < 0 || c.MaxOpenConns < 0 || c.MigrationLockTimeout < 0 {
		return s, errors.New("bunstore: Config.BusyTimeout, MaxOpenConns and MigrationLockTimeout must not be negative")
	}
	if c.BusyTimeout > 0 {
		s.busyTimeout = c.BusyTimeout
	}
	s.maxOpenConns = c.MaxOpenConns
	if c.MigrationLockTimeout > 0 {
		s.lockTimeout = c.MigrationLockTimeout
	}
	return s, nil
}

// Store is the bun implementation of storage.Store for SQLite and
// Postgres. It is safe for concurrent use by many goroutines and by many
// processes sharing one database. Create it with Open or New, and create
// its tables with Migrate.
type Store struct {
	db      *bun.DB
	sqldb   *sql.DB
	owned   bool // Close closes db
	dialect dialect.Name
	cfg     settings
	t       tables
	q       queries
	eq      eventQueries // the outbox's (events.go)
	pool    *stmtCache   // statements on the pool, prepared once
	// writer serialises this process's writes on SQLite, which allows one
	// writer at a time: waiting here costs nothing, while waiting in
	// SQLite's busy handler sleeps in growing steps. See lockWriter.
	writer sync.Mutex
	// filled is set once ListRepositoryUpstreams saw every upstream row
	// carry its repository (see push.go).
	filled atomic.Bool
}

// Open connects to the database named by dsn, checks that it answers, and
// returns a Store that owns the connection pool (Close closes it). It does
// not create tables: call Migrate.
//
// Accepted DSNs:
//
//	sqlite:///abs/path/file.db   a SQLite file (created when missing)
//	sqlite://relative/file.db    a SQLite file relative to the working directory
//	sqlite://:memory:            a private in-memory SQLite database (one connection)
//	postgres://user:pass@host:5432/db?sslmode=disable
//	postgresql://…               the same
//
// A sqlite:// DSN takes no query parameters: the Store sets WAL mode,
// synchronous=NORMAL, a WAL checkpoint every 10000 pages, foreign keys, an
// in-memory temp store, a busy timeout (Config.BusyTimeout) and immediate
// write transactions. Its path is percent-decoded; the directory must
// exist. Postgres DSNs are parsed by pgx (every pgx and libpq parameter
// works). Any other scheme is an error. cfg may be nil.
//
// Open and New take a *Config (nil for defaults), the options style of the
// whole SDK, where the design sketched Open(ctx, dsn) and New(db): the
// table prefix and pool settings need a place, and a nil Config gives
// exactly the sketched behaviour.
func Open(ctx context.Context, dsn string, cfg *Config) (*Store, error) {
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	scheme, _, ok := strings.Cut(dsn, "://")
	if !ok {
		return nil, fmt.Errorf("bunstore: open: DSN has no scheme: want sqlite:///path/file.db, sqlite://:memory: or postgres://…")
	}
	var db *bun.DB
	switch strings.ToLower(scheme) {
	case "sqlite":
		db, err = openSQLite(dsn, set)
	case "postgres", "postgresql":
		db, err = openPostgres(dsn, set)
	default:
		return nil, fmt.Errorf("bunstore: open: unsupported DSN scheme %s: want sqlite:// or postgres://", redact.Quote(scheme))
	}
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, interpretError(ctx, "open: ping", err)
	}
	s, err := newStore(db, set)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// openSQLite translates a sqlite:// DSN into a modernc.org/sqlite one.
func openSQLite(dsn string, set settings) (*bun.DB, error) {
	rest := dsn[len("sqlite://"):]
	if strings.ContainsAny(rest, "?#") {
		return nil, errors.New("bunstore: open: a sqlite:// DSN takes no query parameters or fragment (the store sets the pragmas it needs): write sqlite:///path/file.db")
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		return nil, fmt.Errorf("bunstore: open: sqlite DSN path: %w", err)
	}
	if path == "" {
		return nil, errors.New("bunstore: open: sqlite DSN has no path: write sqlite:///abs/path/file.db, sqlite://:memory: or sqlite://relative/file.db")
	}
	if strings.ContainsAny(path, "?\x00") {
		return nil, errors.New("bunstore: open: sqlite DSN path must not contain '?' or NUL")
	}
	memory := path == ":memory:"
	params := url.Values{}
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(set.busyTimeout.Milliseconds(), 10)+")")
	params.Add("_pragma", "foreign_keys(1)")
	// Statement journals (INSERT … SELECT inside a transaction) stay in
	// memory instead of temporary files.
	params.Add("_pragma", "temp_store(MEMORY)")
	if !memory {
		params.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable against application crashes in WAL mode; only
		// a power loss can lose the last commits. FULL would fsync on every
		// commit, which a sweep of thousands of upstreams pays for dearly.
		params.Add("_pragma", "synchronous(NORMAL)")
		// Checkpoint (and fsync) every 10000 pages (~40 MB of WAL) rather
		// than every 1000: a sweep that queues many entries dirties a few
		// hundred pages per upstream.
		params.Add("_pragma", "wal_autocheckpoint(10000)")
	}
	// BEGIN IMMEDIATE takes the write lock up front, so two write
	// transactions wait for each other (busy timeout) instead of failing
	// when one upgrades its read lock.
	params.Set("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("bunstore: open: %w", err)
	}
	if memory {
		// Every connection to ":memory:" is its own database: keep exactly
		// one, forever.
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
	} else if set.maxOpenConns > 0 {
		sqldb.SetMaxOpenConns(set.maxOpenConns)
	}
	if !memory {
		sqliteReadPool(sqldb, set.maxOpenConns)
	}
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

func openPostgres(dsn string, set settings) (*bun.DB, error) {
	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password of a URL it could parse, but quotes the
		// rest raw: a key=value DSN behind the scheme, a query parameter,
		// a password in a URL it could not parse.
		return nil, fmt.Errorf("bunstore: open: postgres DSN: %s", redact.String(err.Error()))
	}
	sqldb := stdlib.OpenDB(*pcfg)
	if set.maxOpenConns > 0 {
		sqldb.SetMaxOpenConns(set.maxOpenConns)
	}
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// New returns a Store on a host's own bun.DB; the dialect (SQLite or
// Postgres) is taken from db.Dialect(). Close does not close db. cfg may be
// nil; Config.BusyTimeout and MaxOpenConns do not apply (the host
// configured its pool).
//
// Statements use the driver's own "$1" placeholders (pgx's stdlib driver
// and modernc.org/sqlite understand them). A SQLite database should be
// opened as Open does: with "_txlock=immediate" and a busy timeout in its
// DSN, otherwise concurrent write transactions may fail with SQLITE_BUSY.
func New(db *bun.DB, cfg *Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("bunstore: New: db is nil")
	}
	set, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return newStore(db, set)
}

func newStore(db *bun.DB, set settings) (*Store, error) {
	name := db.Dialect().Name()
	if name != dialect.SQLite && name != dialect.PG {
		return nil, fmt.Errorf("bunstore: unsupported bun dialect %s: want sqlite or pg", name)
	}
	t := newTables(set.prefix)
	return &Store{
		db:      db,
		sqldb:   db.DB,
		dialect: name,
		cfg:     set,
		t:       t,
		q:       newQueries(t, name),
		eq:      newEventQueries(t, name),
		pool:    &stmtCache{db: db.DB},
	}, nil
}

// DB returns the bun.DB the Store uses.
func (s *Store) DB() *bun.DB { return s.db }

// Close releases the Store's prepared statements and, when the Store was
// created by Open, closes the database. A Store created by New leaves the
// host's bun.DB open.
func (s *Store) Close() error {
	err := s.pool.close()
	if s.owned {
		err = errors.Join(err, s.db.Close())
	}
	if err != nil {
		return fmt.Errorf("bunstore: close: %w", opaque(err))
	}
	return nil
}

// Migrations returns the Store's schema migrations, for a host that runs
// them in its own bun/migrate migrator instead of calling Migrate. They
// build their DDL for the dialect of the bun.DB the migrator runs them on,
// with this Store's table prefix:
//
//	ms := migrate.NewMigrations()
//	// … the host's own migrations …
//	for _, m := range store.Migrations().Sorted() {
//		ms.Add(m)
//	}
//	migrator := migrate.NewMigrator(db, ms)
//
// Migration names are timestamps ("20260301000001"); register the
// migrations of one table prefix per migrator.
func (s *Store) Migrations() *migrate.Migrations { return newMigrations(s.t) }
