package drift_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// queueOne records an install behind upstream and sweeps, returning the
// queued entry.
func queueOne(t *testing.T, s storage.Store, c *clock, ws string) tracking.Update {
	t.Helper()
	res := newFakeResolver()
	record(t, s, c, ws, "p", srcA, "tag:latest", sha(1), "v1.0.0")
	res.set(srcA, "tag:latest", sha(2), "v1.1.0")
	_, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Holder: ws}).RunOnce(t.Context())
	require.NoError(t, err)
	us, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{WorkspaceID: ws, Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 10})
	require.NoError(t, err)
	require.Len(t, us, 1)
	return us[0]
}

type recorder struct {
	mu       sync.Mutex
	installs []drift.InstallRequest
	failNext error
}

func (r *recorder) Install(_ context.Context, req drift.InstallRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.installs = append(r.installs, req)
	err := r.failNext
	r.failNext = nil
	return err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.installs)
}

func TestApplyInstallsReviewedCommit(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		rec := &recorder{}
		var restarted []string
		up := newUpdater(t, s, rec, drift.RestarterFunc(func(_ context.Context, ws string) error {
			restarted = append(restarted, ws)
			return nil
		}), &drift.UpdaterConfig{Now: c.Now})
		c.Advance(time.Minute)
		got, err := up.Apply(t.Context(), u.ID, "alice")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, got.Status)
		assert.Equal(t, "alice", got.DecidedBy)
		assert.Equal(t, c.Now(), got.DecidedAt)
		require.Len(t, rec.installs, 1)
		assert.Equal(t, drift.InstallRequest{
			UpdateID: u.ID, WorkspaceID: "ws", PluginName: "p", Source: u.Source, Ref: u.Ref,
			SHA: sha(2), Version: "v1.1.0", FromSHA: sha(1),
		}, rec.installs[0])
		assert.Equal(t, []string{"ws"}, restarted)
		in, err := s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(2), in.InstalledSHA)
		assert.Equal(t, "v1.1.0", in.InstalledVersion)

		// Idempotent: no second install, no second restart.
		again, err := up.Apply(t.Context(), u.ID, "bob")
		require.NoError(t, err)
		assert.Equal(t, got, again)
		assert.Len(t, rec.installs, 1)
		assert.Len(t, restarted, 1)
	})
}

func TestApplyConcurrentCallersInstallOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		release := make(chan struct{})
		var calls atomic.Int32
		inst := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
			calls.Add(1)
			<-release // hold the claim while the others try
			return nil
		})
		up := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{Now: c.Now})
		const n = 16
		var wg sync.WaitGroup
		results := make([]tracking.Update, n)
		errs := make([]error, n)
		var busy atomic.Int32
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = up.Apply(t.Context(), u.ID, "op")
				if errors.Is(errs[i], tracking.ErrBusy) {
					busy.Add(1)
				}
			})
		}
		require.Eventually(t, func() bool { return busy.Load() == n-1 }, 10*time.Second, time.Millisecond)
		close(release)
		wg.Wait()
		assert.Equal(t, int32(1), calls.Load(), "exactly one Installer call")
		for i := range n {
			if errs[i] != nil {
				assert.ErrorIs(t, errs[i], tracking.ErrBusy)
				continue
			}
			assert.Equal(t, tracking.StatusApplied, results[i].Status)
		}
	})
}

// failingComplete makes CompleteApply fail, as if the process died right
// after the Installer returned.
type failingComplete struct {
	storage.Store
	fail atomic.Bool
}

func (f *failingComplete) CompleteApply(ctx context.Context, p storage.CompleteApplyParams) (tracking.Update, error) {
	if f.fail.Load() {
		return tracking.Update{}, errors.New("connection reset")
	}
	return f.Store.CompleteApply(ctx, p)
}

func TestApplyCrashAfterInstallIsRecoveredOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		fs := &failingComplete{Store: s}
		fs.fail.Store(true)
		rec := &recorder{}
		up := newUpdater(t, fs, rec, nil, &drift.UpdaterConfig{Now: c.Now, ApplyTimeout: time.Second})

		_, err := up.Apply(t.Context(), u.ID, "op")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "could not record")
		assert.Equal(t, 1, rec.count())
		stuck, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplying, stuck.Status)

		// Before the claim expires (1 s by the store's clock, whatever
		// the Updater's clock says), nobody else can take it.
		fs.fail.Store(false)
		c.Advance(time.Hour)
		_, err = up.Apply(t.Context(), u.ID, "op2")
		assert.ErrorIs(t, err, tracking.ErrBusy)
		assert.Equal(t, 1, rec.count())

		// After it expires, the entry is claimed again, the same commit is
		// installed again, and the entry ends applied once.
		got, err := applyOnceExpired(t, up, u.ID, "op2")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, got.Status)
		assert.Equal(t, "op2", got.DecidedBy)
		require.Equal(t, 2, rec.count())
		assert.Equal(t, rec.installs[0].SHA, rec.installs[1].SHA)
		_, err = up.Apply(t.Context(), u.ID, "op3")
		require.NoError(t, err)
		assert.Equal(t, 2, rec.count())
	})
}

func TestApplyInstallFailureGoesBackToPending(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		rec := &recorder{failNext: errors.New("disk full")}
		up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})
		got, err := up.Apply(t.Context(), u.ID, "op")
		require.ErrorIs(t, err, drift.ErrInstallFailed)
		assert.Equal(t, tracking.StatusPending, got.Status)
		assert.Equal(t, 1, got.Attempts)
		assert.Equal(t, "disk full", got.LastError)
		in, err := s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(1), in.InstalledSHA, "install row untouched")

		got, err = up.Apply(t.Context(), u.ID, "op")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, got.Status)
		assert.Equal(t, 1, got.Attempts)
	})
}

func TestApplyRestartFailureRetriesOnlyRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		rec := &recorder{}
		var restarts atomic.Int32
		failRestart := atomic.Bool{}
		failRestart.Store(true)
		up := newUpdater(t, s, rec, drift.RestarterFunc(func(context.Context, string) error {
			restarts.Add(1)
			if failRestart.Load() {
				return errors.New("systemd: unit failed")
			}
			return nil
		}), &drift.UpdaterConfig{Now: c.Now})
		got, err := up.Apply(t.Context(), u.ID, "op")
		require.ErrorIs(t, err, drift.ErrRestartFailed)
		assert.Equal(t, tracking.StatusApplied, got.Status)
		assert.Equal(t, "systemd: unit failed", got.RestartError)

		failRestart.Store(false)
		got, err = up.Apply(t.Context(), u.ID, "op")
		require.NoError(t, err)
		assert.Empty(t, got.RestartError)
		assert.Equal(t, 1, rec.count(), "no second install")
		assert.Equal(t, int32(2), restarts.Load())
		_, err = up.Apply(t.Context(), u.ID, "op")
		require.NoError(t, err)
		assert.Equal(t, int32(2), restarts.Load(), "a successful restart is not repeated")
	})
}

func TestApplyAndDismissConflicts(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		rec := &recorder{}
		up := newUpdater(t, s, rec, nil, &drift.UpdaterConfig{Now: c.Now})
		d := queueOne(t, s, c, "ws-d")
		got, err := up.Dismiss(t.Context(), d.ID, "carol", "breaks the\ntheme")
		require.NoError(t, err)
		assert.Equal(t, "breaks the\ntheme", got.Reason)
		again, err := up.Dismiss(t.Context(), d.ID, "dave", "")
		require.NoError(t, err)
		assert.Equal(t, got, again)
		_, err = up.Apply(t.Context(), d.ID, "op")
		assert.ErrorIs(t, err, tracking.ErrConflict)

		a := queueOne(t, s, c, "ws-a")
		_, err = up.Apply(t.Context(), a.ID, "op")
		require.NoError(t, err)
		_, err = up.Dismiss(t.Context(), a.ID, "op", "")
		assert.ErrorIs(t, err, tracking.ErrConflict)

		sup := queueOne(t, s, c, "ws-s")
		require.NoError(t, mustTracker(t, s, nil).RecordUninstall(t.Context(), "ws-s", "p"))
		_, err = up.Apply(t.Context(), sup.ID, "op")
		assert.ErrorIs(t, err, tracking.ErrConflict)

		_, err = up.Apply(t.Context(), 424242, "op")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
		_, err = up.Dismiss(t.Context(), 424242, "op", "")
		assert.ErrorIs(t, err, tracking.ErrNotFound)
		assert.Equal(t, 1, rec.count())
	})
}

func TestUpdaterRejectsBadText(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		up := newUpdater(t, s, &recorder{}, nil, &drift.UpdaterConfig{Now: c.Now})
		for _, actor := range []string{"", "a\x00b", "a\nb", strings.Repeat("a", drift.MaxActorLen+1), "\xff\xfe"} {
			_, err := up.Apply(t.Context(), u.ID, actor)
			assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%q", actor)
			_, err = up.Dismiss(t.Context(), u.ID, actor, "")
			assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%q", actor)
		}
		for _, reason := range []string{"nul\x00", "esc\x1b[31m", strings.Repeat("r", drift.MaxReasonLen+1), "bad\xffutf8"} {
			_, err := up.Dismiss(t.Context(), u.ID, "op", reason)
			assert.ErrorIs(t, err, tracking.ErrInvalidArgument, "%q", reason)
		}
		got, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusPending, got.Status, "rejected input changed nothing")
	})
}
