package drift_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func codes(x drift.Explanation) []string {
	var out []string
	for _, r := range x.Reasons {
		out = append(out, r.Code)
	}
	return out
}

// explainer returns Explain of workspace ws's plugin, failing t on an
// error or on a reason that does not say why or what would change it.
func explainer(t *testing.T) func(up *drift.Updater, plugin string) drift.Explanation {
	return func(up *drift.Updater, plugin string) drift.Explanation {
		t.Helper()
		x, err := up.Explain(t.Context(), "ws", plugin)
		require.NoError(t, err)
		for _, r := range x.Reasons {
			assert.NotEmpty(t, r.Message, r.Code)
			assert.NotEmpty(t, r.Change, "%s says what would change it", r.Code)
		}
		return x
	}
}

// TestExplainSaysWhyAndWhatWouldChangeIt walks one install through the
// states that decide whether it updates.
func TestExplainSaysWhyAndWhatWouldChangeIt(t *testing.T) {
	c := newClock()
	s := newStoreForSchedule()
	res := newFakeResolver()
	sw := newSweeper(t, s, res, c, nil)
	ok := drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil })
	manual := newUpdater(t, s, ok, nil, &drift.UpdaterConfig{Now: c.Now})
	patchOnly := newUpdater(t, s, ok, nil, &drift.UpdaterConfig{Now: c.Now, AutoApply: drift.PatchOnly, MinAge: time.Hour})
	explain := explainer(t)

	_, err := manual.Explain(t.Context(), "ws", "nope")
	assert.ErrorIs(t, err, tracking.ErrNotFound)

	record(t, s, c, "ws", "pinned", srcA, "sha:"+sha(1), sha(1), "")
	assert.Equal(t, []string{drift.ReasonNotTracked}, codes(explain(manual, "pinned")))

	record(t, s, c, "ws", "p", srcA, "tag:latest", sha(1), "v1.0.0")
	assert.Equal(t, []string{drift.ReasonNeverChecked}, codes(explain(manual, "p")))

	res.fail(srcA, "tag:latest", errors.New("connection refused"))
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	x := explain(manual, "p")
	assert.Equal(t, []string{drift.ReasonFailing}, codes(x))
	assert.Contains(t, x.Reasons[0].Message, "connection refused")

	res.set(srcA, "tag:latest", sha(1), "v1.0.0")
	c.Advance(24 * time.Hour)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{drift.ReasonUpToDate}, codes(explain(manual, "p")))

	res.set(srcA, "tag:latest", sha(2), "v1.0.1")
	c.Advance(time.Hour)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	x = explain(manual, "p")
	require.NotNil(t, x.Open)
	assert.Equal(t, []string{drift.ReasonManualOnly, drift.ReasonNotChecked}, codes(x))
	assert.Equal(t, []string{drift.ReasonCooldown, drift.ReasonNotChecked}, codes(explain(patchOnly, "p")))
	c.Advance(2 * time.Hour)
	assert.Equal(t, []string{drift.ReasonAutoApplies, drift.ReasonNotChecked}, codes(explain(patchOnly, "p")))

	res.set(srcA, "tag:latest", sha(3), "v1.1.0")
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{drift.ReasonRuleDeclines, drift.ReasonNotChecked}, codes(explain(patchOnly, "p")), "a minor bump is not a patch")

	x = explain(manual, "p")
	_, err = manual.Dismiss(t.Context(), x.Open.ID, "alice", "not now")
	require.NoError(t, err)
	x = explain(manual, "p")
	assert.Equal(t, []string{drift.ReasonDismissed}, codes(x))
	assert.Len(t, x.Dismissed, 1)

	// Held: v1.1.0 was applied, then rolled back.
	record(t, s, c, "ws", "p", srcA, "tag:latest", sha(3), "v1.1.0")
	_, _, err = manual.Rollback(t.Context(), "ws", "p", sha(1), "alice", "broken")
	require.NoError(t, err)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	x = explain(manual, "p")
	assert.Equal(t, []string{drift.ReasonDismissed, drift.ReasonHeld}, codes(x), "the old dismissal and the hold both keep v1.1.0 out")
	assert.Contains(t, x.Reasons[1].Change, "release hold")
	require.Len(t, x.Holds, 1)

	record(t, s, c, "ws", "tag", srcB, "tag:v1.0.0", sha(1), "v1.0.0")
	res.set(srcB, "tag:v1.0.0", sha(5), "v1.0.0")
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{drift.ReasonAlarm, drift.ReasonNotChecked}, codes(explain(patchOnly, "tag")))
}

// TestExplainSaysWhatVerificationDecides: the open entry's signature
// check is a reason, and a blocking one is the reason nothing applies
// it; an install running a commit applied over its policy says so.
func TestExplainSaysWhatVerificationDecides(t *testing.T) {
	c := newClock()
	s := memstore.New()
	ok := drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil })
	auto := newUpdater(t, s, ok, nil, &drift.UpdaterConfig{Now: c.Now, AutoApply: func(tracking.Update) bool { return true }})
	manual := newUpdater(t, s, ok, nil, &drift.UpdaterConfig{Now: c.Now})
	explain := explainer(t)

	blocked := queueJudged(t, s, c, "blocked", srcA, unsignedRequired)
	for _, up := range []*drift.Updater{auto, manual} {
		x := explain(up, "blocked")
		require.Equal(t, []string{drift.ReasonVerificationRequired}, codes(x), "neither auto-apply nor an operator's Apply takes it")
		assert.Contains(t, x.Reasons[0].Message, "unsigned")
		assert.Contains(t, x.Reasons[0].Message, "commit has no signature")
		assert.Contains(t, x.Reasons[0].Change, "ApplyUnverified")
	}

	queueJudged(t, s, c, "verified", srcB, verifiedRequired)
	x := explain(auto, "verified")
	require.Equal(t, []string{drift.ReasonAutoApplies, drift.ReasonVerified}, codes(x))
	assert.Contains(t, x.Reasons[1].Message, "signed by alice@example.com")

	queueJudged(t, s, c, "recorded", "git+https://git.example.net/c.git", unsignedRecorded)
	x = explain(auto, "recorded")
	require.Equal(t, []string{drift.ReasonAutoApplies, drift.ReasonNotVerified}, codes(x))
	assert.Contains(t, x.Reasons[1].Message, "unsigned")

	queueJudged(t, s, c, "unchecked", "git+https://git.example.net/d.git", tracking.Verification{Detail: "the tag object could not be read"})
	x = explain(manual, "unchecked")
	require.Equal(t, []string{drift.ReasonManualOnly, drift.ReasonNotChecked}, codes(x))
	assert.Contains(t, x.Reasons[1].Message, "the tag object could not be read")

	record(t, s, c, "ws", "nopolicy", srcB, "branch:dev", sha(1), "")
	res := newFakeResolver()
	res.set(srcB, "branch:dev", sha(2), "")
	_, err := newSweeper(t, s, res, c, nil).Check(t.Context(), key(srcB, "branch:dev"))
	require.NoError(t, err)
	x = explain(manual, "nopolicy")
	require.Equal(t, []string{drift.ReasonManualOnly, drift.ReasonNotChecked}, codes(x))
	assert.Contains(t, x.Reasons[1].Message, "no trust policy applies")
	assert.Contains(t, x.Reasons[1].Change, "SweeperConfig.Verifier")

	// Overridden: the install's history says who applied it over the
	// policy, and why, for as long as it runs that commit.
	_, err = manual.ApplyUnverified(t.Context(), blocked.ID, "alice", "reviewed by hand")
	require.NoError(t, err)
	x = explain(manual, "blocked")
	require.Equal(t, []string{drift.ReasonUpToDate, drift.ReasonOverridden}, codes(x))
	assert.Contains(t, x.Reasons[1].Message, "alice")
	assert.Contains(t, x.Reasons[1].Message, `"reviewed by hand"`)
	assert.Contains(t, x.Reasons[1].Message, "unsigned")

	record(t, s, c, "ws", "blocked", srcA, "branch:main", sha(3), "")
	assert.NotContains(t, codes(explain(manual, "blocked")), drift.ReasonOverridden, "reinstalled: it no longer runs the overridden commit")
	record(t, s, c, "ws", "blocked", srcA, "branch:main", sha(2), "")
	require.Contains(t, codes(explain(manual, "blocked")), drift.ReasonOverridden)
	_, _, err = manual.Rollback(t.Context(), "ws", "blocked", sha(1), "bob", "back to the signed one")
	require.NoError(t, err)
	assert.NotContains(t, codes(explain(manual, "blocked")), drift.ReasonOverridden, "rolled back: it no longer runs the overridden commit")
}
