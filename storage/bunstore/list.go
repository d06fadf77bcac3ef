package bunstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/storage"
)

// filterUpdates adds the filters of p that came with the triage page:
// workspace prefix (an index range, never LIKE), kinds and source.
func filterUpdates(w *where, p storage.ListUpdatesParams) {
	if p.WorkspacePrefix != "" {
		w.add("workspace_id >= ? AND workspace_id < ?", p.WorkspacePrefix, storage.PrefixUpperBound(p.WorkspacePrefix))
	}
	if len(p.Kinds) > 0 {
		whereIn(w, "kind", p.Kinds)
	}
	if p.Source.IsValid() {
		w.add("source_raw = ?", p.Source.String())
	}
}

// addListMigrations adds the indexes of the triage page's lists: the
// history by decision time within a status.
func addListMigrations(ms *migrate.Migrations, t tables) {
	ms.Add(migrate.Migration{
		Name:    "20261202000200",
		Comment: "plugindrift_updates_decided",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`CREATE INDEX %[1]s_decided ON %[1]s (status, decided_at, id)`, t.updates)})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`DROP INDEX %s_decided`, t.updates)})
		}),
	})
}

// sqliteIdleConns is how many connections a file SQLite database keeps
// open between requests (database/sql keeps 2 by default).
const sqliteIdleConns = 64

// sqliteReadPool keeps a file SQLite database's connections open when
// they go idle. database/sql keeps only two by default: under concurrent
// reads every other connection was closed after its query and a new one
// opened for the next, which re-ran the pragmas and parsed every prepared
// statement again on it (the list's profile: a fifth of its time in
// SQLite's parser). maxOpen, when set, caps the idle connections too.
func sqliteReadPool(db *sql.DB, maxOpen int) {
	idle := sqliteIdleConns
	if maxOpen > 0 {
		idle = min(idle, maxOpen)
	}
	db.SetMaxIdleConns(idle)
}
