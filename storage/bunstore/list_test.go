package bunstore

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
)

// TestSQLiteKeepsIdleConnections: concurrent lists on a file database
// reuse their connections (and the statements prepared on them) instead
// of closing all but two after each burst.
func TestSQLiteKeepsIdleConnections(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "pool.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(ctx))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 20 {
				_, err := s.ListUpdates(ctx, storage.ListUpdatesParams{Limit: 50})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	require.Zero(t, s.sqldb.Stats().MaxIdleClosed, "no connection was closed for being idle")
}
