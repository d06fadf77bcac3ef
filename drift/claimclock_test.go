package drift_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestApplyClaimsIgnoreSkewedClocks: two replicas share a store, and B's
// clock runs two hours ahead of A's. While A installs, B's Apply and B's
// sweep (which has moved on upstream) must leave A's live claim alone:
// claim expiry is judged by the store's clock, never by a replica's. When
// it was judged by the caller's, B saw A's claim as long expired, took it
// over and installed beside A.
func TestApplyClaimsIgnoreSkewedClocks(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		ahead := func() time.Time { return c.Now().Add(2 * time.Hour) }
		u := queueOne(t, s, c, "ws") // sha(1) → sha(2)
		var m overlapMeter
		started, release := make(chan struct{}), make(chan struct{})
		inst := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
			n, leave := m.enter()
			defer leave()
			if n == 1 {
				close(started)
				select {
				case <-release:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			return nil
		})
		a := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{ApplyTimeout: time.Minute, Now: c.Now})
		b := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{ApplyTimeout: time.Minute, Now: ahead})

		errA := make(chan error, 1)
		go func() {
			_, err := a.Apply(t.Context(), u.ID, "a")
			errA <- err
		}()
		<-started
		claimed, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		require.Equal(t, tracking.StatusApplying, claimed.Status)

		for range 3 {
			_, err = b.Apply(t.Context(), u.ID, "b")
			assert.ErrorIs(t, err, tracking.ErrBusy, "B took over A's live claim")
		}
		res := newFakeResolver()
		res.set(srcA, "tag:latest", sha(3), "v1.2.0")
		rep, err := newSweeper(t, s, res, fakeclock.New(ahead()), &drift.SweeperConfig{Holder: "b"}).RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Queued+rep.Superseded, "B's sweep took A's entry away")
		got, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplying, got.Status, "A's entry is still A's")

		close(release)
		assert.NoError(t, <-errA, "A's install is recorded")
		assert.Equal(t, int32(1), m.most.Load(), "installs of one entry overlapped")
		assert.Equal(t, int32(1), m.calls.Load(), "one install")
		done, err := b.Apply(t.Context(), u.ID, "b")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, done.Status)
		assert.Equal(t, "a", done.DecidedBy)
		assert.Equal(t, int32(1), m.calls.Load(), "applying an applied entry installs nothing")
	})
}
