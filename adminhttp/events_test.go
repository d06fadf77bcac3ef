package adminhttp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/tracking"
)

type subscribersBody struct {
	Subscribers []map[string]any `json:"subscribers"`
}

type deadPage struct {
	DeadEvents []struct {
		Subscriber string         `json:"subscriber"`
		Event      map[string]any `json:"event"`
		Attempts   int            `json:"attempts"`
		LastError  string         `json:"last_error"`
		Retrying   bool           `json:"retrying"`
	} `json:"dead_events"`
	NextCursor string `json:"next_cursor"`
}

func TestDeadEventsListAndRetry(t *testing.T) {
	e := newEnv(t)
	down := true
	hook := drift.Subscriber{Name: "hook", Deliver: func(context.Context, tracking.Event) error {
		if down {
			return errors.New("receiver answered 503 for https://deploy:hunter2@hooks.example.com/x")
		}
		return nil
	}}
	d, err := drift.NewDispatcher(e.store, []drift.Subscriber{hook}, &drift.DispatcherConfig{MaxAttempts: 1, Now: e.clock.Now})
	require.NoError(t, err)
	rep, err := d.RunOnce(t.Context())
	require.NoError(t, err)
	require.Positive(t, rep.Dead)

	w := e.do(req{method: "GET", path: path("/events/subscribers")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	subs := decode[subscribersBody](t, w).Subscribers
	require.Len(t, subs, 1)
	assert.Equal(t, "hook", subs[0]["name"])
	assert.Equal(t, float64(rep.Dead), subs[0]["dead"])
	assert.Equal(t, float64(0), subs[0]["pending"])

	w = e.do(req{method: "GET", path: path("/events/subscribers/hook/dead?limit=1")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	page := decode[deadPage](t, w)
	require.Len(t, page.DeadEvents, 1)
	dead := page.DeadEvents[0]
	assert.Equal(t, "update.queued", dead.Event["type"])
	assert.Equal(t, 1, dead.Attempts)
	assert.NotContains(t, dead.LastError, "hunter2")
	assert.Contains(t, dead.LastError, "503")
	assert.NotEmpty(t, page.NextCursor, "two dead events, one per page")
	id := int64(dead.Event["id"].(float64))

	w = e.do(req{method: "POST", path: path("/events/subscribers/hook/dead/%d/retry", id)})
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	down = false
	_, err = d.RunOnce(t.Context())
	require.NoError(t, err)
	w = e.do(req{method: "GET", path: path("/events/subscribers/hook/dead")})
	page = decode[deadPage](t, w)
	require.Len(t, page.DeadEvents, rep.Dead-1, "the retried event was delivered and left the list")
	assert.NotEqual(t, float64(id), page.DeadEvents[0].Event["id"])

	w = e.do(req{method: "POST", path: path("/events/subscribers/hook/dead/%d/retry", id)})
	requireError(t, w, http.StatusNotFound, "not_found")
	w = e.do(req{method: "GET", path: path("/events/subscribers/Not%%20A%%20Name/dead")})
	requireError(t, w, http.StatusBadRequest, "bad_request")
	w = e.do(req{method: "GET", path: path("/events/subscribers/hook/dead/%d/retry", id)})
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	w = e.do(req{method: "GET", path: path("/events/subscribers"), noAuth: true})
	assert.Equal(t, http.StatusUnauthorized, w.Code, "behind Authorize like every route")
}
