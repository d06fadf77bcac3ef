package bunstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The failing upstreams, listed by ListUpstreams with Failing set, are
// found through a partial index of only them: a health view that shows
// them first reads as many rows as fail, not the whole table.

// addFailingMigrations registers the index of the failing upstreams.
func addFailingMigrations(ms *migrate.Migrations, t tables) {
	ms.Add(migrate.Migration{
		Name:    "20261202000600",
		Comment: "plugindrift_upstreams_failing",
		Up: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`CREATE INDEX %[1]s_failing ON %[1]s (id) WHERE consecutive_failures > 0`, t.upstreams)})
		}),
		Down: goMigration(func(ctx context.Context, db *bun.DB) error {
			return execDDL(ctx, db, []string{fmt.Sprintf(`DROP INDEX %s_failing`, t.upstreams)})
		}),
	})
}
