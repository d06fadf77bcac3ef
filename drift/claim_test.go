package drift_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// overlapMeter is an Installer wrapper that counts calls and the most
// installs running at once.
type overlapMeter struct {
	calls, active, most atomic.Int32
}

func (m *overlapMeter) enter() (n int32, leave func()) {
	n = m.calls.Add(1)
	a := m.active.Add(1)
	for {
		most := m.most.Load()
		if a <= most || m.most.CompareAndSwap(most, a) {
			break
		}
	}
	return n, func() { m.active.Add(-1) }
}

// TestApplyClaimsNeverOverlap is the scenario of an apply claim without
// an owner: A's installer overstays its deadline and fails late, while B
// and C keep trying to apply. Before claims were fenced, B took A's
// expired claim and installed beside A, A's late failure released B's
// claim, and C installed beside B. Now A's claim is kept while its
// installer runs, so installs never overlap and each one is accounted for.
func TestApplyClaimsNeverOverlap(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		var m overlapMeter
		inst := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
			n, leave := m.enter()
			defer leave()
			if n == 1 {
				<-ctx.Done()                       // A ignores its deadline …
				time.Sleep(300 * time.Millisecond) // … and returns 300 ms late
				return errors.New("late failure")
			}
			time.Sleep(50 * time.Millisecond)
			return nil
		})
		// The real clock: the claim's expiry and the install's deadline are
		// what this test is about. Renewals every 333 ms leave a loaded
		// machine 667 ms for each to land.
		up := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{ApplyTimeout: time.Second})

		errA := make(chan error, 1)
		go func() {
			_, err := up.Apply(t.Context(), u.ID, "a")
			errA <- err
		}()
		require.Eventually(t, func() bool { return m.calls.Load() == 1 }, 10*time.Second, time.Millisecond)
		var wg sync.WaitGroup
		results := map[string]tracking.Update{}
		var mu sync.Mutex
		for _, actor := range []string{"b", "c"} {
			wg.Go(func() {
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					got, err := up.Apply(t.Context(), u.ID, actor)
					if errors.Is(err, tracking.ErrBusy) {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					assert.NoError(t, err, actor)
					mu.Lock()
					results[actor] = got
					mu.Unlock()
					return
				}
				t.Errorf("%s never got past busy", actor)
			})
		}
		err := <-errA
		wg.Wait()

		assert.ErrorIs(t, err, drift.ErrInstallFailed, "A's own, late failure is recorded on A's claim")
		assert.Equal(t, int32(1), m.most.Load(), "installs of one entry overlapped")
		assert.Equal(t, int32(2), m.calls.Load(), "A's failed install, then one successful install")
		final, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, final.Status)
		assert.Equal(t, 1, final.Attempts, "A's failure is accounted for")
		assert.Contains(t, final.LastError, "late failure")
		for actor, got := range results {
			assert.Equal(t, final, got, actor)
		}
	})
}

// TestApplyLosingTheClaimCancelsTheInstall: when a renewal finds that the
// claim was taken over (here the claim ran out before the first renewal,
// as when renewals cannot reach the store, and another caller took it),
// the install is cancelled and nothing of it is recorded.
func TestApplyLosingTheClaimCancelsTheInstall(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		started := make(chan struct{})
		inst := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
			close(started)
			<-ctx.Done()
			return context.Cause(ctx)
		})
		// The first renewal comes after ApplyTimeout/3 = 1 s of real time;
		// the claim itself is taken for 200 ms only.
		short := &shortClaims{Store: s, ttl: 200 * time.Millisecond}
		up := newUpdater(t, short, inst, nil, &drift.UpdaterConfig{ApplyTimeout: 3 * time.Second, Now: c.Now})
		errA := make(chan error, 1)
		go func() {
			_, err := up.Apply(t.Context(), u.ID, "a")
			errA <- err
		}()
		<-started
		var thief tracking.Update
		var err error
		deadline := time.Now().Add(20 * time.Second)
		for {
			thief, err = s.ClaimUpdate(t.Context(), storage.ClaimUpdateParams{ID: u.ID, Token: "thief", TTL: time.Minute})
			if !errors.Is(err, tracking.ErrBusy) {
				require.NoError(t, err)
				break
			}
			require.True(t, time.Now().Before(deadline), "the claim never expired")
			time.Sleep(10 * time.Millisecond)
		}

		select {
		case err = <-errA:
		case <-time.After(20 * time.Second):
			t.Fatal("the install was not cancelled when its claim was lost")
		}
		assert.ErrorIs(t, err, tracking.ErrClaimLost)
		got, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, thief, got, "nothing of the lost install was recorded")
		in, err := s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(1), in.InstalledSHA)
	})
}

// TestApplyRetryInstallsTheReviewedCommit: the install succeeded but
// recording it failed; a sweep then resolved a newer commit while the
// claim was still live. The retried Apply must install the reviewed
// commit, the entry's ToSHA, not what upstream points at now.
func TestApplyRetryInstallsTheReviewedCommit(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws") // sha(1) → sha(2)
		fs := &failingComplete{Store: s}
		fs.fail.Store(true)
		rec := &recorder{}
		// The claim lasts 1 s of the store's clock: the sweep below runs
		// well within it.
		up := newUpdater(t, fs, rec, nil, &drift.UpdaterConfig{Now: c.Now, ApplyTimeout: time.Second})
		_, err := up.Apply(t.Context(), u.ID, "op")
		require.Error(t, err)
		fs.fail.Store(false)

		res := newFakeResolver()
		res.set(srcA, "tag:latest", sha(3), "v1.2.0")
		c.Advance(time.Minute)
		_, err = newSweeper(t, s, res, c, nil).RunOnce(t.Context())
		require.NoError(t, err)
		up3, err := s.GetUpstream(t.Context(), tracking.UpstreamKey{Source: u.Source, Ref: u.Ref})
		require.NoError(t, err)
		require.Equal(t, sha(3), up3.LastSHA, "the sweep saw the newer commit")

		got, err := applyOnceExpired(t, up, u.ID, "op2")
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, got.Status)
		require.Equal(t, 2, rec.count())
		assert.Equal(t, sha(2), rec.installs[1].SHA, "the retry installs the reviewed commit")
		in, err := s.GetInstall(t.Context(), "ws", "p")
		require.NoError(t, err)
		assert.Equal(t, sha(2), in.InstalledSHA)
	})
}

// TestApplyCrashBeforeRestartIsRetried: the install is recorded and then
// the process dies before the workspace restarts. The entry says a restart
// is owed, and applying it again (here from a second Updater, as another
// replica would) runs only the restart.
func TestApplyCrashBeforeRestartIsRetried(t *testing.T) {
	eachStore(t, func(t *testing.T, s storage.Store) {
		c := newClock()
		u := queueOne(t, s, c, "ws")
		inRestart := make(chan struct{})
		crashed := make(chan struct{})
		dying := drift.RestarterFunc(func(ctx context.Context, ws string) error {
			close(inRestart)
			<-crashed // the process dies here: the restart never happens
			return errors.New("unreachable")
		})
		rec := &recorder{}
		first := newUpdater(t, s, rec, dying, &drift.UpdaterConfig{Now: c.Now})
		go func() { _, _ = first.Apply(context.WithoutCancel(t.Context()), u.ID, "op") }()
		<-inRestart
		owed, err := s.GetUpdate(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, tracking.StatusApplied, owed.Status)
		assert.Equal(t, drift.RestartPending, owed.RestartError, "a crash now must leave the restart owed")

		var restarts atomic.Int32
		second := newUpdater(t, s, rec, drift.RestarterFunc(func(context.Context, string) error {
			restarts.Add(1)
			return nil
		}), &drift.UpdaterConfig{Now: c.Now})
		got, err := second.Apply(t.Context(), u.ID, "op2")
		require.NoError(t, err)
		assert.Equal(t, int32(1), restarts.Load(), "only the restart is retried")
		assert.Equal(t, 1, rec.count(), "no second install")
		assert.Empty(t, got.RestartError)
		assert.Equal(t, "op", got.DecidedBy)
		close(crashed)
	})
}

// applyOnceExpired applies id as soon as the claim on it has expired by
// the store's clock, which a test cannot move: polled, with a bound.
func applyOnceExpired(t *testing.T, up *drift.Updater, id int64, actor string) (tracking.Update, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := up.Apply(t.Context(), id, actor)
		if !errors.Is(err, tracking.ErrBusy) {
			return got, err
		}
		require.True(t, time.Now().Before(deadline), "the claim on update %d never expired", id)
		time.Sleep(10 * time.Millisecond)
	}
}

// shortClaims takes every claim for ttl, whatever the Updater asks for.
type shortClaims struct {
	storage.Store
	ttl time.Duration
}

func (s *shortClaims) ClaimUpdate(ctx context.Context, p storage.ClaimUpdateParams) (tracking.Update, error) {
	p.TTL = s.ttl
	return s.Store.ClaimUpdate(ctx, p)
}

// extendRecorder records the deadline of the context of every renewal.
type extendRecorder struct {
	storage.Store
	mu        sync.Mutex
	deadlines []time.Time
}

func (r *extendRecorder) ExtendClaim(ctx context.Context, p storage.ExtendClaimParams) (tracking.Update, error) {
	d, _ := ctx.Deadline()
	r.mu.Lock()
	r.deadlines = append(r.deadlines, d)
	r.mu.Unlock()
	return r.Store.ExtendClaim(ctx, p)
}

// TestApplyRenewalsEachGetTheirOwnDeadline: every renewal of a claim runs
// under a fresh bounded context. (When the whole renewal loop shared one,
// it ran out 30 s into an install and every renewal after it failed, so a
// long install lost its claim.)
func TestApplyRenewalsEachGetTheirOwnDeadline(t *testing.T) {
	s := &extendRecorder{Store: memstore.New()}
	c := newClock()
	u := queueOne(t, s, c, "ws")
	inst := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		time.Sleep(500 * time.Millisecond) // long enough for several renewals
		return nil
	})
	up := newUpdater(t, s, inst, nil, &drift.UpdaterConfig{ApplyTimeout: 90 * time.Millisecond, Now: c.Now})
	_, err := up.Apply(t.Context(), u.ID, "op")
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.GreaterOrEqual(t, len(s.deadlines), 3, "renewals while the install ran")
	for i := 1; i < len(s.deadlines); i++ {
		assert.True(t, s.deadlines[i].After(s.deadlines[i-1]), "renewal %d shares the deadline of the one before", i)
	}
}
