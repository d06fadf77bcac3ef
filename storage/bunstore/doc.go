// Package bunstore implements [storage.Store] on SQL databases through
// bun: SQLite (modernc.org/sqlite, pure Go, no cgo) and Postgres (pgx).
//
//	store, err := bunstore.Open(ctx, "sqlite:///var/lib/myapp/plugindrift.db", nil)
//	if err != nil { … }
//	defer store.Close()
//	if err := store.Migrate(ctx); err != nil { … }
//
// # DSNs
//
// [Open] takes sqlite:///abs/path/file.db, sqlite://relative/file.db,
// sqlite://:memory: or postgres://… (postgresql://… too). A host that
// already has a *bun.DB passes it to [New] instead; the dialect is read
// from it and the Store never closes it.
//
// # Migrations
//
// The schema (DESIGN §4: tables <prefix>installs, <prefix>upstreams,
// <prefix>updates, <prefix>leases) is built by Go migrations embedded in
// the package. [Store.Migrate] runs them with bun/migrate, recording them
// in <prefix>migrations and holding bun/migrate's lock so that replicas
// starting together migrate once. A host with its own bun/migrate
// migrator registers [Store.Migrations] there instead. The prefix
// ([Config].TablePrefix, default "plugindrift_") lets several stores, or a
// host's own tables, share one database.
//
// Times are stored as BIGINT microseconds since the Unix epoch (UTC), NULL
// for the zero time, so ordering and expiry comparisons are exact and the
// same on both databases. Sources and refs are stored in their canonical
// text form (Source.String, Ref.String) and parsed back on read.
//
// # Concurrency
//
// Reconcile applies the queue rules of one upstream with a constant number
// of set-based statements in one transaction. Two invariants make that
// safe:
//
//   - At most one open entry per install: a partial unique index on
//     <prefix>updates (plugin_name, workspace_id) WHERE status IN
//     ('pending', 'applying'), and the queueing INSERT uses ON CONFLICT DO
//     NOTHING, so concurrent Reconcile calls can never queue twice.
//   - An open entry carries its install's current key (source, ref) and
//     installed SHA as from_sha: UpsertInstall supersedes the open entries
//     of an install whose SHA, source or ref changes. Reconcile therefore
//     finds an upstream's open entries by key, through an index, without
//     joining installs.
//
// On Postgres (READ COMMITTED), every transaction that changes an install
// or derives entries from installs first locks the upstreams row of each
// key involved, in key order: Reconcile through its upsert of that row,
// UpsertInstall and DeleteInstall (old and new key) and CompleteApply with
// SELECT … FOR UPDATE; only then do they read and write installs and
// entries. So a Reconcile and a change to an install following the same
// upstream run one after the other and each sees the other's committed
// work, and locks are always taken in the same order. The single
// statement Reconcile runs on Postgres to find that nothing changed reads
// with a snapshot taken before it waits for that lock: a concurrent
// Reconcile of the same upstream with a different commit can leave the
// queue reflecting the other resolution until the next sweep (the
// sweeper's lease makes this rare), never two open entries. Claims
// and decisions are single conditional UPDATE statements. On SQLite every
// write transaction holds the database's write lock from BEGIN IMMEDIATE,
// which serialises them all.
//
// # SQLite notes
//
// Open sets WAL mode, synchronous=NORMAL (durable across application
// crashes; a power cut may lose the last commits), a checkpoint every
// 10000 WAL pages, foreign keys, an in-memory temp store, a busy timeout
// ([Config].BusyTimeout, default 5s) and BEGIN IMMEDIATE for transactions,
// so writers queue on the database's write lock instead of failing. An
// in-memory database lives as long as its single connection, that is
// until Close. Hosts using [New] with SQLite should open their database
// with "_txlock=immediate" and a busy timeout likewise.
//
// # Postgres notes
//
// Open uses pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib);
// every pgx DSN parameter works. Statements use bound "$n" parameters and
// are prepared once per connection. Keys are TEXT COLLATE "C", so
// orderings are byte-wise whatever the database's locale. A sweep in the
// steady state (no upstream moved) costs one statement per upstream. The
// queue statements reach their rows through indexes keyed by upstream,
// whatever the planner's statistics say: a first sweep that queues
// 100,000 entries into a freshly created table stays linear.
package bunstore
