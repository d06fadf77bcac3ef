package bunstore

import (
	"context"
	"fmt"
	"slices"

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
		// Distinct and sorted, like the statuses: the text, and so the
		// prepared statement, depends only on how many there are.
		kinds := slices.Clone(p.Kinds)
		slices.Sort(kinds)
		kinds = slices.Compact(kinds)
		list := ""
		for i, k := range kinds {
			if i > 0 {
				list += ", "
			}
			list += w.arg(string(k))
		}
		w.conds = append(w.conds, "kind IN ("+list+")")
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
