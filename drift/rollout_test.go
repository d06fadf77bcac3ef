package drift_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// rollout is three installs of one upstream in rings 0, 1 and 2, an
// auto-apply rule that takes everything, and a soak of one day.
type rollout struct {
	t   *testing.T
	s   storage.Store
	c   *clock
	res *fakeResolver
	sw  *drift.Sweeper
	up  *drift.Updater

	mu        sync.Mutex
	installed []string // workspaces, in install order
}

func newRollout(t *testing.T, s storage.Store) *rollout {
	r := &rollout{t: t, s: s, c: newClock(), res: newFakeResolver()}
	for ring, ws := range []string{"canary", "early", "late"} {
		_, err := mustTracker(t, s, &tracking.TrackerConfig{Now: r.c.Now, DefaultRing: ring}).RecordInstall(t.Context(), tracking.InstallRecord{
			WorkspaceID: ws, PluginName: "p", Source: srcA, Ref: "branch:main", SHA: sha(1),
		})
		require.NoError(t, err)
	}
	r.sw = newSweeper(t, s, r.res, r.c, nil)
	r.up = newUpdater(t, s, drift.InstallerFunc(func(_ context.Context, req drift.InstallRequest) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.installed = append(r.installed, req.WorkspaceID)
		return nil
	}), nil, &drift.UpdaterConfig{Now: r.c.Now, AutoApply: func(tracking.Update) bool { return true }, Soak: 24 * time.Hour})
	return r
}

// upstreamAt moves upstream to commit and sweeps.
func (r *rollout) upstreamAt(commit string) {
	r.t.Helper()
	r.res.set(srcA, "branch:main", commit, "")
	_, err := r.sw.RunOnce(r.t.Context())
	require.NoError(r.t, err)
}

// autoApply runs AutoApply and returns the workspaces it installed.
func (r *rollout) autoApply() []string {
	r.t.Helper()
	r.mu.Lock()
	before := len(r.installed)
	r.mu.Unlock()
	_, err := r.up.AutoApply(r.t.Context())
	require.NoError(r.t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.installed[before:]...)
}

func (r *rollout) explain(ws string) string {
	r.t.Helper()
	x, err := r.up.Explain(r.t.Context(), ws, "p")
	require.NoError(r.t, err)
	require.NotEmpty(r.t, x.Reasons)
	return x.Reasons[0].Code // the most decisive
}

// TestRingWaitsForTheSoakOfTheRingBefore: ring 1 takes a commit only a
// soak after ring 0 did, ring 2 a soak after ring 1.
func TestRingWaitsForTheSoakOfTheRingBefore(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		r := newRollout(t, s)
		r.upstreamAt(sha(2))
		assert.Equal(t, []string{"canary"}, r.autoApply(), "ring 0 first; ring 1 waits for it")
		assert.Equal(t, drift.ReasonRingSoaking, r.explain("early"))
		assert.Equal(t, drift.ReasonRingWaiting, r.explain("late"))

		r.c.Advance(23 * time.Hour)
		assert.Empty(t, r.autoApply(), "ring 0 has not soaked for a day yet")
		r.c.Advance(time.Hour)
		assert.Equal(t, []string{"early"}, r.autoApply(), "soaked: ring 1 takes it")
		assert.Equal(t, drift.ReasonRingSoaking, r.explain("late"))
		r.c.Advance(24 * time.Hour)
		assert.Equal(t, []string{"late"}, r.autoApply())
	})
}

// TestRingRollbackStopsTheRollout: a rollback in ring 0 stops the commit
// before ring 1, says so, and leaves manual apply and newer commits alone.
func TestRingRollbackStopsTheRollout(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		r := newRollout(t, s)
		r.upstreamAt(sha(2))
		require.Equal(t, []string{"canary"}, r.autoApply())
		_, _, err := r.up.Rollback(t.Context(), "canary", "p", sha(1), "alice", "bad")
		require.NoError(t, err)

		r.c.Advance(48 * time.Hour)
		assert.Empty(t, r.autoApply(), "rolled back in ring 0: ring 1 never takes it")
		x, err := r.up.Explain(t.Context(), "early", "p")
		require.NoError(t, err)
		require.NotEmpty(t, x.Reasons)
		first := x.Reasons[0]
		assert.Equal(t, drift.ReasonRolloutStopped, first.Code)
		assert.Contains(t, first.Message, "rolled back in ring 0")

		// An operator may still apply it by hand in ring 1.
		open := pending(t, s)
		var early tracking.Update
		for _, u := range open {
			if u.WorkspaceID == "early" {
				early = u
			}
		}
		require.NotZero(t, early.ID)
		_, err = r.up.Apply(t.Context(), early.ID, "bob")
		require.NoError(t, err)

		// A newer commit rolls out again, from ring 0.
		r.upstreamAt(sha(3))
		assert.Equal(t, []string{"canary"}, r.autoApply())
	})
}
