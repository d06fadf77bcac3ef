package bunstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestVerificationMigrationKeepsExistingRows upgrades a database that has
// an entry and an upstream from before the verification migration: they
// read back not-checked with no override, and the next Reconcile records a
// check on them.
func TestVerificationMigrationKeepsExistingRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		s := openStore(t, b.dsn(t), nil)
		migrateAllBut(t, s, "20261202000500")
		k := key(t, "github://acme/widget", "branch:main")
		install(t, s, "ws", "w", k, sha(1))
		// The entry as the previous version's queue statement wrote it.
		_, err := s.sqldb.ExecContext(ctx, `INSERT INTO plugindrift_updates (workspace_id, plugin_name, source_raw, tracked_ref, from_sha, to_sha, kind, status, detected_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)`, "ws", "w", k.Source.String(), k.Ref.String(), sha(1), sha(2), string(tracking.KindNewCommit), t0.UnixMicro())
		require.NoError(t, err)

		require.NoError(t, s.Migrate(ctx))
		us, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 10})
		require.NoError(t, err)
		require.Len(t, us, 1)
		assert.Equal(t, tracking.Verification{}, us[0].Verification, "an entry from before reads not-checked")
		assert.Empty(t, us[0].Override)
		up, err := s.GetUpstream(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, tracking.Verification{}, up.Verification)

		v := tracking.Verification{State: tracking.VerificationUnsigned, By: "plugindrift", Required: true, Policy: "p1"}
		_, err = s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Now: t0, Verification: v})
		require.NoError(t, err)
		got, err := s.GetUpdate(ctx, us[0].ID)
		require.NoError(t, err)
		assert.Equal(t, v, got.Verification, "the migrated entry takes the next check")
	})
}
