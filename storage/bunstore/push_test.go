package bunstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
		// Every migration but the push one, which then runs last. The
		// rows are written as a version from before it wrote them: this
		// version's statements write the repository column it adds.
		migrateAllBut(t, s, "20261202000300")
		widget := key(t, "git+ssh://git@github.com/acme/widget.git", "branch:main")
		for i, k := range []tracking.UpstreamKey{widget, key(t, "github://acme/gadget", "tag:latest")} {
			_, err := s.sqldb.ExecContext(ctx, `INSERT INTO `+s.t.installs+` (workspace_id, plugin_name, source_raw, tracked_ref, tracked, installed_sha) VALUES ('ws', $1, $2, $3, TRUE, $4)`,
				fmt.Sprint("p", i), k.Source.String(), k.Ref.String(), sha(1))
			require.NoError(t, err)
			_, err = s.sqldb.ExecContext(ctx, `INSERT INTO `+s.t.upstreams+` (source_raw, tracked_ref) VALUES ($1, $2)`, k.Source.String(), k.Ref.String())
			require.NoError(t, err)
		}

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
	s := backends[0].newStore(t)
	plan := explain(t, s, s.q.push.repositoryUpstreams, "github.com/a/b", 0, 10)
	require.NotEmpty(t, plan)
	for _, step := range plan {
		assert.NotContains(t, step, "SCAN", "plan %q", plan)
	}
	assert.Contains(t, plan[0], "plugindrift_upstreams_repository")
}

// TestRepositoryBackfillCheckedOnce: every way an upstream row is created
// writes its repository, so once ListRepositoryUpstreams has seen no row
// without one, later calls run no check. A row left without one (as by
// a replica from before rows carried their repository) shows it: the
// second call leaves it alone, and only a new Store fills it.
func TestRepositoryBackfillCheckedOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		dsn := b.dsn(t)
		s := openStore(t, dsn, nil)
		require.NoError(t, s.Migrate(ctx))
		installed := key(t, "github://acme/a", "branch:main")
		failed := key(t, "git+https://git.example.com/acme/b.git", "tag:latest")
		reconciled := key(t, "github://acme/c", "head")
		install(t, s, "ws", "a", installed, sha(1))
		require.NoError(t, s.RecordUpstreamFailure(ctx, failed, "boom", t0))
		_, err := s.Reconcile(ctx, storage.ReconcileParams{Key: reconciled, SHA: sha(2), Now: t0})
		require.NoError(t, err)
		empty := func() int {
			t.Helper()
			var n int
			require.NoError(t, s.sqldb.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.t.upstreams+` WHERE repository = ''`).Scan(&n))
			return n
		}
		assert.Zero(t, empty(), "new upstream rows carry their repository")

		repo := installed.Source.Repository()
		list := func(s *Store) []tracking.Upstream {
			t.Helper()
			us, err := s.ListRepositoryUpstreams(ctx, storage.ListRepositoryUpstreamsParams{Repository: repo, Limit: 10})
			require.NoError(t, err)
			return us
		}
		require.Len(t, list(s), 1)
		_, err = s.sqldb.ExecContext(ctx, `UPDATE `+s.t.upstreams+` SET repository = '' WHERE source_raw = $1`, installed.Source.String())
		require.NoError(t, err)
		assert.Empty(t, list(s), "no check ran: the row is not filled")
		assert.Equal(t, 1, empty())

		fresh := openStore(t, dsn, nil)
		require.Len(t, list(fresh), 1, "a new Store checks once and fills the row")
		assert.Zero(t, empty())

		// A sweep's write of a row without its repository fills it too.
		_, err = s.sqldb.ExecContext(ctx, `UPDATE `+s.t.upstreams+` SET repository = ''`)
		require.NoError(t, err)
		require.NoError(t, s.RecordUpstreamFailure(ctx, failed, "boom", t0))
		_, err = s.Reconcile(ctx, storage.ReconcileParams{Key: installed, SHA: sha(2), Now: t0})
		require.NoError(t, err)
		assert.Equal(t, 1, empty(), "only the row no sweep wrote is left")
	})
}
