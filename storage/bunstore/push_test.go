package bunstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun/migrate"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestPushMigrationFillsRepositoryOfExistingRows upgrades a database that
// has upstream rows from before the push migration and finds them by
// repository through the index the migration made.
func TestPushMigrationFillsRepositoryOfExistingRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := openStore(t, b.dsn(t), nil)
		// Every migration but the push one: the rows are written by this
		// version's statements, which need the later migrations' columns
		// (an install's ring), and the push migration still runs last.
		before := migrate.NewMigrations()
		for _, m := range s.Migrations().Sorted() {
			if m.Name != "20261202000300" {
				before.Add(m)
			}
		}
		m := migrate.NewMigrator(s.db, before, migrate.WithTableName(s.t.migrations), migrate.WithLocksTableName(s.t.migrationLocks), migrate.WithMarkAppliedOnSuccess(true))
		require.NoError(t, m.Init(ctx))
		_, err := m.Migrate(ctx)
		require.NoError(t, err)
		widget := key(t, "git+ssh://git@github.com/acme/widget.git", "branch:main")
		install(t, s, "ws", "w", widget, sha(1))
		install(t, s, "ws", "g", key(t, "github://acme/gadget", "tag:latest"), sha(1))

		require.NoError(t, s.Migrate(ctx))
		var repo string
		require.NoError(t, s.sqldb.QueryRowContext(ctx, "SELECT repository FROM plugindrift_upstreams WHERE source_raw = $1", widget.Source.String()).Scan(&repo))
		assert.Equal(t, "github.com/acme/widget", repo, "filled by the migration")

		k, err := tracking.ParseRepoURL("https://github.com/acme/widget")
		require.NoError(t, err)
		us, err := s.ListRepositoryUpstreams(ctx, storage.ListRepositoryUpstreamsParams{Repository: k, Limit: 10})
		require.NoError(t, err)
		require.Len(t, us, 1)
		assert.Equal(t, widget, us[0].Key)
	})
}

// TestRepositoryLookupUsesIndex makes sure the lookup of a repository's
// upstreams is an index search, not a scan of upstreams or installs.
func TestRepositoryLookupUsesIndex(t *testing.T) {
	ctx := context.Background()
	s := backends[0].newStore(t)
	rows, err := s.sqldb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.repositoryUpstreamsSQL(), "github.com/a/b", 0, 10)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, plan)
	for _, step := range plan {
		assert.NotContains(t, step, "SCAN", "plan %q", plan)
	}
	assert.Contains(t, plan[0], "plugindrift_upstreams_repository")
}
