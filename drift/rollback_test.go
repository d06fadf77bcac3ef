package drift_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestRollbackHolds: a bad release is rolled back through the Installer
// and Restarter, is not offered again, and the next release is.
func TestRollbackHolds(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		res := newFakeResolver()
		record(t, s, c, "ws", "p", srcA, "tag:latest", sha(1), "v1.0.0")
		res.set(srcA, "tag:latest", sha(2), "v1.1.0")
		sw := newSweeper(t, s, res, c, nil)
		var installs []drift.InstallRequest
		var restarts []string
		failInstall := false
		up := newUpdater(t, s, drift.InstallerFunc(func(_ context.Context, req drift.InstallRequest) error {
			if failInstall {
				return errors.New("disk full")
			}
			installs = append(installs, req)
			return nil
		}), drift.RestarterFunc(func(_ context.Context, ws string) error {
			restarts = append(restarts, ws)
			return nil
		}), &drift.UpdaterConfig{Now: c.Now})

		_, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		require.Len(t, pending(t, s), 1)
		_, err = up.Apply(t.Context(), pending(t, s)[0].ID, "alice")
		require.NoError(t, err)

		c.Advance(time.Hour)
		e, h, err := up.Rollback(t.Context(), "ws", "p", sha(1), "alice", "v1.1.0 breaks login")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, e.Status)
		assert.Equal(t, tracking.KindRollback, e.Kind)
		assert.Equal(t, "v1.0.0", e.ToVersion, "the version it had at that commit")
		require.Len(t, installs, 2)
		assert.Equal(t, sha(1), installs[1].SHA, "the earlier commit, through the same Installer")
		assert.Equal(t, []string{"ws", "ws"}, restarts)
		assert.Equal(t, tracking.Hold{ID: h.ID, WorkspaceID: "ws", PluginName: "p", SHA: sha(2), Version: "v1.1.0",
			CreatedAt: c.Now().UTC(), CreatedBy: "alice", Reason: "v1.1.0 breaks login"}, h)
		in, err := s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(1), in.InstalledSHA)
		assert.Equal(t, "v1.0.0", in.InstalledVersion)

		c.Advance(time.Hour)
		rep, err := sw.RunOnce(t.Context())
		require.NoError(t, err)
		assert.Zero(t, rep.Queued, "the rolled-back release is held")
		assert.Empty(t, pending(t, s))

		res.set(srcA, "tag:latest", sha(3), "v1.2.0")
		c.Advance(time.Hour)
		_, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		open := pending(t, s)
		require.Len(t, open, 1, "a newer release is offered again")
		assert.Equal(t, sha(3), open[0].ToSHA)

		// A failed rollback install keeps the install and the hold.
		failInstall = true
		_, _, err = up.Rollback(t.Context(), "ws", "p", sha(9), "alice", "")
		assert.ErrorIs(t, err, drift.ErrInstallFailed)
		in, err = s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(1), in.InstalledSHA)

		holds, err := up.ListHolds(t.Context(), "ws", "p", true)
		require.NoError(t, err)
		assert.Len(t, holds, 2)
	})
}

func TestReleaseHoldRequeuesOnNextCheck(t *testing.T) {
	c := newClock()
	s := newStoreForSchedule()
	res := newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(2), "")
	res.set(srcA, "branch:main", sha(2), "")
	sw := newSweeper(t, s, res, c, nil)
	up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, &drift.UpdaterConfig{Now: c.Now})
	_, h, err := up.Rollback(t.Context(), "ws", "p", sha(1), "alice", "")
	require.NoError(t, err)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Empty(t, pending(t, s))

	_, err = up.ReleaseHold(t.Context(), h.ID, "")
	assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "who releases it is recorded")
	released, err := up.ReleaseHold(t.Context(), h.ID, "bob")
	require.NoError(t, err)
	assert.False(t, released.Active())
	_, err = sw.Check(t.Context(), key(srcA, "branch:main"))
	require.NoError(t, err)
	open := pending(t, s)
	require.Len(t, open, 1, "released: the next check queues it again")
	assert.Equal(t, sha(2), open[0].ToSHA)
}

func TestRollbackRefusesBadInputBeforeTheStore(t *testing.T) {
	c := newClock()
	s := newStoreForSchedule()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(2), "")
	installed := 0
	up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { installed++; return nil }), nil, &drift.UpdaterConfig{Now: c.Now})
	for name, call := range map[string]func() error{
		"no actor":      func() error { _, _, err := up.Rollback(t.Context(), "ws", "p", sha(1), "", ""); return err },
		"control chars": func() error { _, _, err := up.Rollback(t.Context(), "ws", "p", sha(1), "a", "x\x00"); return err },
		"bad sha":       func() error { _, _, err := up.Rollback(t.Context(), "ws", "p", "HEAD", "a", ""); return err },
	} {
		assert.Error(t, call(), name)
	}
	_, _, err := up.Rollback(t.Context(), "ws", "nope", sha(1), "a", "")
	assert.ErrorIs(t, err, tracking.ErrNotFound)
	_, _, err = up.Rollback(t.Context(), "ws", "p", sha(2), "a", "")
	assert.ErrorIs(t, err, tracking.ErrConflict, "already installed")
	assert.Zero(t, installed)
	hs, err := up.ListHolds(t.Context(), "", "", false)
	require.NoError(t, err)
	assert.Empty(t, hs, "nothing was held")
}

// applyObserver records the Apply and ApplyStep hooks it sees.
type applyObserver struct {
	drift.NopObserver
	seen []string
}

func (o *applyObserver) Apply(ctx context.Context, id int64) (context.Context, func(tracking.Update, error)) {
	o.seen = append(o.seen, "apply")
	return ctx, func(u tracking.Update, err error) {
		o.seen = append(o.seen, "apply end "+string(u.Kind)+" "+string(u.Status))
	}
}

func (o *applyObserver) ApplyStep(ctx context.Context, step drift.ApplyStep, e tracking.Update) (context.Context, func(error)) {
	o.seen = append(o.seen, string(step)+" "+string(e.Kind))
	return ctx, func(error) {}
}

// TestRollbackIsObservedAsAnApply: a rollback goes through the same
// Observer hooks as Apply: Apply of its entry, then install, record and
// restart, ended with the applied rollback entry.
func TestRollbackIsObservedAsAnApply(t *testing.T) {
	s := memstore.New()
	c := newClock()
	record(t, s, c, "ws", "p", srcA, "tag:latest", sha(2), "v1.1.0")
	obs := &applyObserver{}
	up := newUpdater(t, s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }),
		drift.RestarterFunc(func(context.Context, string) error { return nil }), &drift.UpdaterConfig{Now: c.Now, Observer: obs})
	_, _, err := up.Rollback(t.Context(), "ws", "p", sha(1), "alice", "bad")
	require.NoError(t, err)
	assert.Equal(t, []string{"apply", "install rollback", "record rollback", "restart rollback", "apply end rollback applied"}, obs.seen)
}
