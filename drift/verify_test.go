package drift_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// fakeVerifier is a drift.Verifier that judges by a table of verdicts per
// source and counts its calls. Verify advances clock by took, if set, so
// that the time it takes is known.
type fakeVerifier struct {
	mu       sync.Mutex
	policies map[tracking.Source]string
	verdicts map[tracking.Source]tracking.Verification
	err      error
	calls    int
	asked    []resolver.Result
	clock    *clock
	took     time.Duration
	hook     func(ctx context.Context) error
}

func newFakeVerifier() *fakeVerifier {
	return &fakeVerifier{policies: map[tracking.Source]string{}, verdicts: map[tracking.Source]tracking.Verification{}}
}

// judge makes policy apply to src, with verdict as its answer (its Policy
// set to policy).
func (f *fakeVerifier) judge(src, policy string, verdict tracking.Verification) {
	f.mu.Lock()
	defer f.mu.Unlock()
	verdict.Policy = policy
	f.policies[mustSource(src)] = policy
	f.verdicts[mustSource(src)] = verdict
}

func (f *fakeVerifier) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeVerifier) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeVerifier) Policy(src tracking.Source) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policies[src]
}

func (f *fakeVerifier) Verify(ctx context.Context, src tracking.Source, _ tracking.Ref, res resolver.Result) (tracking.Verification, error) {
	f.mu.Lock()
	f.calls++
	f.asked = append(f.asked, res)
	v, err, hook := f.verdicts[src], f.err, f.hook
	if f.clock != nil {
		f.clock.Advance(f.took)
	}
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			return tracking.Verification{}, err
		}
	}
	if err != nil {
		return tracking.Verification{}, err
	}
	return v, nil
}

// Verdicts the tests use.
var (
	unsignedRequired = tracking.Verification{State: tracking.VerificationUnsigned, By: "plugindrift", Detail: "commit has no signature", Required: true}
	verifiedRequired = tracking.Verification{State: tracking.VerificationVerified, Signer: "alice@example.com", By: "plugindrift", Detail: "commit signed by alice@example.com", Required: true}
	unsignedRecorded = tracking.Verification{State: tracking.VerificationUnsigned, By: "plugindrift", Detail: "commit has no signature"}
)

// resolveObserver records the ResolveOutcome of every resolution.
type resolveObserver struct {
	drift.NopObserver
	mu  sync.Mutex
	got []drift.ResolveOutcome
}

func (o *resolveObserver) Resolve(ctx context.Context, _ tracking.UpstreamKey) (context.Context, func(drift.ResolveOutcome)) {
	return ctx, func(r drift.ResolveOutcome) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.got = append(o.got, r)
	}
}

func (o *resolveObserver) last() drift.ResolveOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.got[len(o.got)-1]
}

func upstreamOf(t *testing.T, s storage.Store, src, ref string) tracking.Upstream {
	t.Helper()
	up, err := s.GetUpstream(t.Context(), key(src, ref))
	require.NoError(t, err)
	return up
}

// verifyFixture is a store with plugin p installed at sha(1) from srcA's
// branch:main, a resolver that answers sha(2) for it, and a verifier
// that judges srcA under policy-1 unsigned-but-required.
func verifyFixture(t *testing.T) (*clock, storage.Store, *fakeResolver, *fakeVerifier) {
	t.Helper()
	c := newClock()
	s := memstore.New()
	res := newFakeResolver()
	ver := newFakeVerifier()
	ver.judge(srcA, "policy-1", unsignedRequired)
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	res.set(srcA, "branch:main", sha(2), "")
	return c, s, res, ver
}

// TestSweepRecordsVerification: the verdict lands on the new entry and
// the upstream row; an unchanged sweep reuses it without calling Verify;
// a new commit is checked again; the Observer is shown how long Verify
// took.
func TestSweepRecordsVerification(t *testing.T) {
	c := newClock()
	s := memstore.New()
	res := newFakeResolver()
	ver := newFakeVerifier()
	ver.clock, ver.took = c, 3*time.Second
	ver.judge(srcA, "policy-1", unsignedRequired)
	obs := &resolveObserver{}
	record(t, s, c, "ws", "p", srcA, "tag:latest", sha(1), "v1.0.0")
	res.set(srcA, "tag:latest", sha(2), "v1.1.0")
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver, Observer: obs})

	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
	want := unsignedRequired
	want.Policy = "policy-1"
	got := pending(t, s)
	require.Len(t, got, 1)
	assert.Equal(t, want, got[0].Verification)
	assert.True(t, got[0].Verification.Blocks())
	assert.Equal(t, want, upstreamOf(t, s, srcA, "tag:latest").Verification)
	require.Equal(t, 1, ver.count())
	assert.Equal(t, sha(2), ver.asked[0].SHA, "Verify judges the commit the resolution selected")
	assert.Equal(t, "v1.1.0", ver.asked[0].Version)
	assert.Equal(t, 3*time.Second, obs.last().Verify)

	// Unchanged: the verdict is kept, Verify is not called.
	for range 3 {
		c.Advance(time.Hour)
		rep, err = sw.RunOnce(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, rep.Unchanged, "%+v", rep.Errors)
	}
	assert.Equal(t, 1, ver.count(), "an unchanged sweep costs no signature check")
	assert.Zero(t, obs.last().Verify)
	assert.Equal(t, want, pending(t, s)[0].Verification)
	assert.Equal(t, want, upstreamOf(t, s, srcA, "tag:latest").Verification)

	// A new commit is checked.
	ver.judge(srcA, "policy-1", verifiedRequired)
	res.set(srcA, "tag:latest", sha(3), "v1.2.0")
	c.Advance(time.Hour)
	rep, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
	assert.Equal(t, 2, ver.count())
	got = pending(t, s)
	require.Len(t, got, 1)
	assert.Equal(t, sha(3), got[0].ToSHA)
	assert.Equal(t, tracking.VerificationVerified, got[0].Verification.State)
	assert.Equal(t, "alice@example.com", got[0].Verification.Signer)
	assert.False(t, got[0].Verification.Blocks())
}

// TestSweepReverifiesWhenThePolicyChanges: the same commit under a policy
// of another name is checked again, and the open entry takes the new
// verdict in place (no new entry); a source that loses its policy goes
// back to not-checked without a call.
func TestSweepReverifiesWhenThePolicyChanges(t *testing.T) {
	c, s, res, ver := verifyFixture(t)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver})
	_, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	before := pending(t, s)
	require.Len(t, before, 1)
	require.True(t, before[0].Verification.Blocks())

	ver.judge(srcA, "policy-2", verifiedRequired)
	c.Advance(time.Hour)
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Unchanged, "%+v", rep.Errors)
	assert.Zero(t, rep.Queued)
	assert.Equal(t, 2, ver.count(), "a changed policy is checked again")
	after := pending(t, s)
	require.Len(t, after, 1)
	assert.Equal(t, before[0].ID, after[0].ID, "the open entry is updated, not replaced")
	want := verifiedRequired
	want.Policy = "policy-2"
	assert.Equal(t, want, after[0].Verification)
	assert.Equal(t, want, upstreamOf(t, s, srcA, "branch:main").Verification)

	ver.judge(srcA, "", tracking.Verification{})
	c.Advance(time.Hour)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2, ver.count(), "no policy: no check")
	assert.Equal(t, tracking.Verification{}, pending(t, s)[0].Verification)
	assert.Equal(t, tracking.Verification{}, upstreamOf(t, s, srcA, "branch:main").Verification)
}

// TestSweepWithoutPolicyDoesNotVerify: a source no policy names is
// not-checked and Verify is never called; without a Verifier every entry
// is not-checked.
func TestSweepWithoutPolicyDoesNotVerify(t *testing.T) {
	for name, v := range map[string]drift.Verifier{"no policy": newFakeVerifier(), "no verifier": nil} {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			s := memstore.New()
			res := newFakeResolver()
			record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
			res.set(srcA, "branch:main", sha(2), "")
			rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: v}).RunOnce(t.Context())
			require.NoError(t, err)
			require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
			assert.Equal(t, tracking.Verification{}, pending(t, s)[0].Verification)
			if f, ok := v.(*fakeVerifier); ok {
				assert.Zero(t, f.count())
			}
		})
	}
}

// TestSweepVerifyFailureFailsTheUpstream: a check that could not run, or
// an answer that is not a valid verification of the policy, fails the
// upstream as a failed resolution does: nothing is queued, the redacted
// error is on the upstream row; other upstreams are unaffected.
func TestSweepVerifyFailureFailsTheUpstream(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(v *fakeVerifier)
		message string
	}{
		{"read error", func(v *fakeVerifier) {
			v.fail(errors.New("fetch https://bot:hunter2@git.example.com/acme/a.git: connection reset"))
		}, "connection reset"},
		{"invalid verdict", func(v *fakeVerifier) {
			v.judge(srcA, "policy-1", tracking.Verification{State: tracking.VerificationUnsigned, Detail: "two\nlines"})
		}, "unusable"},
		{"unknown state", func(v *fakeVerifier) {
			v.judge(srcA, "policy-1", tracking.Verification{State: "trusted-enough"})
		}, "unusable"},
		{"other policy", func(v *fakeVerifier) {
			v.verdicts[mustSource(srcA)] = tracking.Verification{State: tracking.VerificationVerified, Policy: "policy-0"}
		}, `answered for policy "policy-0", not "policy-1"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			s := memstore.New()
			res := newFakeResolver()
			ver := newFakeVerifier()
			ver.judge(srcA, "policy-1", unsignedRequired)
			tc.setup(ver)
			record(t, s, c, "ws", "a", srcA, "branch:main", sha(1), "")
			record(t, s, c, "ws", "b", srcB, "branch:main", sha(1), "")
			res.set(srcA, "branch:main", sha(2), "")
			res.set(srcB, "branch:main", sha(2), "")
			for _, check := range []bool{false, true} {
				sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver})
				var rep drift.Report
				var err error
				if check {
					// Check shares the code path: the same failure.
					c.Advance(time.Hour)
					rep, err = sw.Check(t.Context(), key(srcA, "branch:main"))
				} else {
					rep, err = sw.RunOnce(t.Context())
				}
				require.NoError(t, err)
				assert.Equal(t, 1, rep.Failed)
				require.Len(t, rep.Errors, 1)
				assert.Equal(t, srcA, rep.Errors[0].Source)
				assert.Contains(t, rep.Errors[0].Error, "drift: signature check of "+key(srcA, "branch:main").String()+": ")
				assert.Contains(t, rep.Errors[0].Error, tc.message)
				assert.NotContains(t, rep.Errors[0].Error, "hunter2")
				up := upstreamOf(t, s, srcA, "branch:main")
				assert.Equal(t, rep.Errors[0].Error, up.LastError)
				assert.Empty(t, up.LastSHA, "the failed upstream keeps no answer")
				queued := pending(t, s)
				require.Len(t, queued, 1, "only the upstream without a policy is queued")
				assert.Equal(t, "b", queued[0].PluginName)
			}
			assert.Equal(t, 2, upstreamOf(t, s, srcA, "branch:main").ConsecutiveFailures)
		})
	}
}

// TestSweepVerifyTimesOut: a signature check that hangs is cut off by
// the resolution's deadline and says so.
func TestSweepVerifyTimesOut(t *testing.T) {
	c, s, res, ver := verifyFixture(t)
	ver.hook = func(ctx context.Context) error {
		<-ctx.Done() // hangs until the resolution's deadline
		return ctx.Err()
	}
	rep, err := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver, ResolveTimeout: 50 * time.Millisecond}).RunOnce(t.Context())
	require.NoError(t, err)
	require.Len(t, rep.Errors, 1)
	assert.Contains(t, rep.Errors[0].Error, "signature check of "+key(srcA, "branch:main").String()+": timed out after 50ms (SweeperConfig.ResolveTimeout)")
	assert.Empty(t, pending(t, s))
}

// TestSweepVerifyRateLimitedDefers: a host that asks to wait while the
// objects are read defers the upstream: nothing queued, no failure.
func TestSweepVerifyRateLimitedDefers(t *testing.T) {
	c, s, res, ver := verifyFixture(t)
	ver.fail(&resolver.RateLimitError{Host: "git.example.com", RetryAfter: time.Minute})
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver})
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deferred)
	assert.Zero(t, rep.Failed)
	assert.Empty(t, pending(t, s))
	up := upstreamOf(t, s, srcA, "branch:main")
	assert.Zero(t, up.ConsecutiveFailures)
	assert.Empty(t, up.LastError)
	assert.Empty(t, up.LastSHA)

	ver.fail(nil)
	c.Advance(time.Minute)
	rep, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
	assert.Equal(t, tracking.VerificationUnsigned, pending(t, s)[0].Verification.State)
}

// TestCheckVerifies: Check of one upstream records the verdict as a
// sweep does, and an unchanged check costs no signature check.
func TestCheckVerifies(t *testing.T) {
	c, s, res, ver := verifyFixture(t)
	sw := newSweeper(t, s, res, c, &drift.SweeperConfig{Verifier: ver})
	k := key(srcA, "branch:main")
	rep, err := sw.Check(t.Context(), k)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Queued, "%+v", rep.Errors)
	want := unsignedRequired
	want.Policy = "policy-1"
	assert.Equal(t, want, pending(t, s)[0].Verification)
	assert.Equal(t, 1, ver.count())

	rep, err = sw.Check(t.Context(), k)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Unchanged)
	assert.Equal(t, 1, ver.count(), "an unchanged check costs no signature check")

	ver.judge(srcA, "policy-2", verifiedRequired)
	_, err = sw.Check(t.Context(), k)
	require.NoError(t, err)
	assert.Equal(t, 2, ver.count())
	assert.Equal(t, tracking.VerificationVerified, pending(t, s)[0].Verification.State)
}
