package bunstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/migrate"
)

// tables holds the prefixed table names. The prefix is validated against
// tablePrefixRE, so names are safe to splice into SQL.
type tables struct {
	installs, upstreams, updates, leases, migrations, migrationLocks string
	// The events outbox (events.go).
	events, subscriptions, deadEvents string
	holds                             string
	// Sweep records (sweeps.go) and push webhooks (push.go).
	sweeps, checkRequests, pushDeliveries string
}

func newTables(prefix string) tables {
	return tables{
		installs:       prefix + "installs",
		upstreams:      prefix + "upstreams",
		updates:        prefix + "updates",
		leases:         prefix + "leases",
		migrations:     prefix + "migrations",
		migrationLocks: prefix + "migration_locks",
		events:         prefix + "events",
		subscriptions:  prefix + "subscriptions",
		deadEvents:     prefix + "dead_events",
		holds:          prefix + "holds",
		sweeps:         prefix + "sweeps",
		checkRequests:  prefix + "check_requests",
		pushDeliveries: prefix + "push_deliveries",
	}
}

// newMigrations returns the schema migrations for t. They are Go functions
// because the table prefix and the dialect shape the DDL.
func newMigrations(t tables) *migrate.Migrations {
	ms := migrate.NewMigrations()
	ms.Add(migrate.Migration{
		Name:    "20260301000001",
		Comment: "plugindrift_schema",
		Up:      goMigration(func(ctx context.Context, db *bun.DB) error { return execDDL(ctx, db, schemaV1(t, db.Dialect().Name())) }),
		Down:    goMigration(func(ctx context.Context, db *bun.DB) error { return execDDL(ctx, db, dropV1(t)) }),
	})
	ms.Add(migrate.Migration{
		Name:    "20261201000001",
		Comment: "plugindrift_claim_token",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`ALTER TABLE %s ADD COLUMN claim_token TEXT NOT NULL DEFAULT ''`, t.updates)})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`ALTER TABLE %s DROP COLUMN claim_token`, t.updates)})
		}),
	})
	addListMigrations(ms, t)
	addPushMigrations(ms, t)
	addEventMigrations(ms, t)
	addIntegrityMigrations(ms, t)
	addVerificationMigrations(ms, t)
	addFailingMigrations(ms, t)
	addSweepMigrations(ms, t)
	return ms
}

// goMigration adapts a migrate.MigrationFunc to the Up/Down fields of
// migrate.Migration without bun's file-name registration.
func goMigration(fn migrate.MigrationFunc) func(context.Context, *migrate.Migrator, *migrate.Migration) error {
	return func(ctx context.Context, m *migrate.Migrator, _ *migrate.Migration) error {
		return fn(ctx, m.DB())
	}
}

// execDDL runs statements in one transaction: both databases have
// transactional DDL, so a failed migration leaves nothing behind.
func execDDL(ctx context.Context, db *bun.DB, stmts []string) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Tx.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// schemaV1 is DESIGN §4. Times are microseconds since the Unix epoch (UTC)
// in BIGINT columns, NULL for the zero time: integer comparison is exact
// and identical on both databases.
func schemaV1(t tables, d dialect.Name) []string {
	// Keys compare byte-wise on both databases, so orderings agree with
	// Go's (and memstore's) string order.
	text, serial := `TEXT COLLATE "C"`, "BIGSERIAL PRIMARY KEY"
	if d == dialect.SQLite {
		text, serial = "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	return []string{
		fmt.Sprintf(`CREATE TABLE %[1]s (
	workspace_id      %[2]s NOT NULL,
	plugin_name       %[2]s NOT NULL,
	source_raw        %[2]s NOT NULL,
	tracked_ref       %[2]s NOT NULL,
	tracked           BOOLEAN NOT NULL,
	installed_sha     TEXT NOT NULL DEFAULT '',
	installed_version TEXT NOT NULL DEFAULT '',
	installed_at      BIGINT,
	updated_at        BIGINT,
	PRIMARY KEY (workspace_id, plugin_name)
)`, t.installs, text),
		fmt.Sprintf(`CREATE INDEX %[1]s_upstream ON %[1]s (source_raw, tracked_ref, installed_sha)`, t.installs),

		fmt.Sprintf(`CREATE TABLE %[1]s (
	id                   %[3]s,
	source_raw           %[2]s NOT NULL,
	tracked_ref          %[2]s NOT NULL,
	last_sha             TEXT NOT NULL DEFAULT '',
	last_version         TEXT NOT NULL DEFAULT '',
	validator            TEXT NOT NULL DEFAULT '',
	last_checked_at      BIGINT,
	last_error           TEXT NOT NULL DEFAULT '',
	consecutive_failures INTEGER NOT NULL DEFAULT 0,
	UNIQUE (source_raw, tracked_ref)
)`, t.upstreams, text, serial),

		fmt.Sprintf(`CREATE TABLE %[1]s (
	id            %[3]s,
	workspace_id  %[2]s NOT NULL,
	plugin_name   %[2]s NOT NULL,
	source_raw    %[2]s NOT NULL,
	tracked_ref   %[2]s NOT NULL,
	from_sha      TEXT NOT NULL DEFAULT '',
	to_sha        TEXT NOT NULL,
	from_version  TEXT NOT NULL DEFAULT '',
	to_version    TEXT NOT NULL DEFAULT '',
	kind          TEXT NOT NULL,
	status        TEXT NOT NULL,
	detected_at   BIGINT,
	last_seen_at  BIGINT,
	decided_at    BIGINT,
	decided_by    TEXT NOT NULL DEFAULT '',
	reason        TEXT NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT '',
	restart_error TEXT NOT NULL DEFAULT '',
	claimed_until BIGINT,
	CHECK (status IN ('pending', 'applying', 'applied', 'dismissed', 'superseded'))
)`, t.updates, text, serial),
		// At most one open entry per install: the invariant concurrent
		// Reconcile calls rely on (INSERT … ON CONFLICT DO NOTHING).
		fmt.Sprintf(`CREATE UNIQUE INDEX %[1]s_open ON %[1]s (plugin_name, workspace_id) WHERE status IN ('pending', 'applying')`, t.updates),
		// Reconcile finds an upstream's open entries by the key they carry.
		fmt.Sprintf(`CREATE INDEX %[1]s_open_upstream ON %[1]s (source_raw, tracked_ref) WHERE status IN ('pending', 'applying')`, t.updates),
		fmt.Sprintf(`CREATE INDEX %[1]s_dismissed ON %[1]s (to_sha, workspace_id, plugin_name, from_sha) WHERE status = 'dismissed'`, t.updates),
		// ListUpdates by status, and by workspace (and plugin).
		fmt.Sprintf(`CREATE INDEX %[1]s_status ON %[1]s (status, id)`, t.updates),
		fmt.Sprintf(`CREATE INDEX %[1]s_install ON %[1]s (workspace_id, plugin_name, id)`, t.updates),

		fmt.Sprintf(`CREATE TABLE %[1]s (
	name       %[2]s PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at BIGINT NOT NULL
)`, t.leases, text),
	}
}

func dropV1(t tables) []string {
	return []string{
		"DROP TABLE IF EXISTS " + t.leases,
		"DROP TABLE IF EXISTS " + t.updates,
		"DROP TABLE IF EXISTS " + t.upstreams,
		"DROP TABLE IF EXISTS " + t.installs,
	}
}
