package bunstore

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestEventsCommittedOutOfIDOrderAreNotSkipped is the outbox trap on
// Postgres: transaction A draws an event id and holds its commit back;
// transaction B writes an event after it. Without the outbox lock B would
// commit the larger id first, a reader's cursor would move past A's id,
// and A's event would never be delivered. With it, B waits for A, and a
// cursor reader sees every event.
func TestEventsCommittedOutOfIDOrderAreNotSkipped(t *testing.T) {
	ctx := context.Background()
	s := backend{"postgres", pgtest.NewDatabase}.newStore(t)
	k := key(t, "github://acme/late", "branch:main")
	install(t, s, "ws-b", "p", k, sha(1))

	inserted, release, aDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		aDone <- s.transact(ctx, "held back", func(tx *sql.Tx) error {
			ev := tracking.Event{Type: tracking.EventUpdateQueued, At: t0, WorkspaceID: "ws-a", PluginName: "p", UpdateID: 1, Payload: []byte(`{}`)}
			if err := s.insertEvents(ctx, tx, []tracking.Event{ev}); err != nil {
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	bDone := make(chan error, 1)
	go func() {
		_, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: sha(2), Now: t0})
		bDone <- err
	}()

	// Wait (bounded) until B has either committed or is waiting for the
	// outbox lock: either way it has done all it can while A is open.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-bDone:
			require.NoError(t, err)
			bDone <- nil
		default:
		}
		if len(bDone) > 0 || waitingForAdvisoryLock(t, s) {
			break
		}
		require.True(t, time.Now().Before(deadline), "transaction B neither committed nor waited for the outbox lock")
		time.Sleep(10 * time.Millisecond) // polling a real server's lock table
	}

	// A deliverer reads now, then after both commit, from its cursor.
	var cursor int64
	var seen []tracking.Event
	read := func() {
		evs, err := s.ListEvents(ctx, storage.ListEventsParams{AfterID: cursor, Limit: storage.MaxLimit})
		require.NoError(t, err)
		for _, ev := range evs {
			seen = append(seen, ev)
			cursor = ev.ID
		}
	}
	read()
	close(release)
	require.NoError(t, <-aDone)
	require.NoError(t, <-bDone)
	read()

	all, err := s.ListEvents(ctx, storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, all, seen, "the cursor reader skipped an event committed after a larger id")
	assert.Equal(t, "ws-a", all[0].WorkspaceID, "A's event comes first: B drew its id after A committed")
}

// waitingForAdvisoryLock reports whether a session of the test database
// waits for an advisory lock.
func waitingForAdvisoryLock(t *testing.T, s *Store) bool {
	var n int
	err := s.sqldb.QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n)
	require.NoError(t, err)
	return n > 0
}
