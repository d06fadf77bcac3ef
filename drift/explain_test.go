package drift_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/tracking"
)

func codes(x drift.Explanation) []string {
	var out []string
	for _, r := range x.Reasons {
		out = append(out, r.Code)
	}
	return out
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
	explain := func(up *drift.Updater, plugin string) drift.Explanation {
		t.Helper()
		x, err := up.Explain(t.Context(), "ws", plugin)
		require.NoError(t, err)
		for _, r := range x.Reasons {
			assert.NotEmpty(t, r.Message, r.Code)
			assert.NotEmpty(t, r.Change, "%s says what would change it", r.Code)
		}
		return x
	}

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
	assert.Equal(t, []string{drift.ReasonManualOnly}, codes(x))
	assert.Equal(t, []string{drift.ReasonCooldown}, codes(explain(patchOnly, "p")))
	c.Advance(2 * time.Hour)
	assert.Equal(t, []string{drift.ReasonAutoApplies}, codes(explain(patchOnly, "p")))

	res.set(srcA, "tag:latest", sha(3), "v1.1.0")
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{drift.ReasonRuleDeclines}, codes(explain(patchOnly, "p")), "a minor bump is not a patch")

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
	assert.Equal(t, []string{drift.ReasonAlarm}, codes(explain(patchOnly, "tag")))
}
