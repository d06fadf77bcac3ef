package tracking_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

func TestUpstreamHealthEvent(t *testing.T) {
	n := tracking.FailingThreshold
	for _, c := range []struct {
		before, after int
		want          tracking.EventType
	}{
		{0, 1, ""}, {n - 2, n - 1, ""},
		{n - 1, n, tracking.EventUpstreamFailing},
		{n, n + 1, ""},
		{n + 5, 0, tracking.EventUpstreamRecovered}, {n, 0, tracking.EventUpstreamRecovered},
		{n - 1, 0, ""}, {0, 0, ""},
	} {
		got, ok := tracking.UpstreamHealthEvent(c.before, c.after)
		assert.Equal(t, c.want, got, "%d → %d", c.before, c.after)
		assert.Equal(t, c.want != "", ok)
	}
}

func TestUpdateEventsPayloadAndAlarm(t *testing.T) {
	src, err := tracking.ParseSource("github://acme/theme")
	require.NoError(t, err)
	ref, err := tracking.ParseRef("tag:v1.0.0")
	require.NoError(t, err)
	at := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	u := tracking.Update{ID: 7, WorkspaceID: "ws", PluginName: "theme", Source: src, Ref: ref, Kind: tracking.KindTagMoved,
		Status: tracking.StatusPending, LastError: "fetch https://bot:ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/acme/theme failed"}
	evs := tracking.UpdateEvents(tracking.EventUpdateQueued, u, at)
	require.Len(t, evs, 2)
	assert.Equal(t, tracking.EventUpdateQueued, evs[0].Type)
	assert.Equal(t, tracking.EventAlarmTagMoved, evs[1].Type)
	assert.Equal(t, evs[0].Payload, evs[1].Payload)
	assert.NotContains(t, string(evs[0].Payload), "ghp_0123456789")
	var back tracking.Update
	require.NoError(t, json.Unmarshal(evs[0].Payload, &back))
	assert.Equal(t, u.ID, back.ID)
	assert.Equal(t, src, back.Source)

	assert.Len(t, tracking.UpdateEvents(tracking.EventUpdateApplied, u, at), 1, "only a queued tag-moved entry raises the alarm")
}
