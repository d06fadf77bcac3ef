package adminhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// The events routes (operation "events") show the delivery state of the
// outbox's subscribers and let an operator retry an event that became dead
// for one of them:
//
//	GET  {prefix}/events/subscribers                        every subscriber: cursor, pending, dead, last failure
//	GET  {prefix}/events/subscribers/{name}/dead?cursor=&limit=   its dead events, oldest first
//	POST {prefix}/events/subscribers/{name}/dead/{id}/retry       deliver that event once more (202)
//
// A retry is picked up by the subscriber's deliverer (drift.Dispatcher) on
// its next round; the event leaves the dead list once it is delivered.

// eventRoutes are registered by mux.
func (h *handler) eventRoutes() []route {
	return []route{
		{"/events/subscribers", map[string]opHandler{http.MethodGet: {OpEvents, h.listSubscribers}}},
		{"/events/subscribers/{name}/dead", map[string]opHandler{http.MethodGet: {OpEvents, h.listDeadEvents}}},
		{"/events/subscribers/{name}/dead/{id}/retry", map[string]opHandler{http.MethodPost: {OpEvents, h.retryDeadEvent}}},
	}
}

type subscriberJSON struct {
	Name      string     `json:"name"`
	AfterID   int64      `json:"after_id"`
	Pending   int        `json:"pending"`
	Dead      int        `json:"dead"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error"`
	RetryAt   *time.Time `json:"retry_at"`
}

type eventJSON struct {
	ID          int64           `json:"id"`
	Type        string          `json:"type"`
	At          *time.Time      `json:"at"`
	WorkspaceID string          `json:"workspace_id"`
	PluginName  string          `json:"plugin_name"`
	UpdateID    int64           `json:"update_id"`
	Payload     json.RawMessage `json:"payload"`
}

type deadEventJSON struct {
	Subscriber string     `json:"subscriber"`
	Event      eventJSON  `json:"event"`
	Attempts   int        `json:"attempts"`
	LastError  string     `json:"last_error"`
	DeadAt     *time.Time `json:"dead_at"`
	Retrying   bool       `json:"retrying"`
}

func toDeadEventJSON(d storage.DeadEvent) deadEventJSON {
	ev := d.Event
	return deadEventJSON{
		Subscriber: d.Subscriber,
		Event: eventJSON{ID: ev.ID, Type: string(ev.Type), At: jsonTime(ev.At), WorkspaceID: ev.WorkspaceID,
			PluginName: ev.PluginName, UpdateID: ev.UpdateID, Payload: ev.Payload},
		Attempts: d.Attempts, LastError: errorText(d.LastError), DeadAt: jsonTime(d.DeadAt), Retrying: d.Retrying,
	}
}

// subscriberName parses the {name} path value.
func subscriberName(r *http.Request) (string, *apiError) {
	name := r.PathValue("name")
	if storage.ValidateSubscriberName(name) != nil {
		return "", errBadRequest(fmt.Sprintf("subscriber %s is not a subscriber name: 1 to 64 of a-z, 0-9, '.', '_' and '-'", redact.Quote(name)))
	}
	return name, nil
}

func (h *handler) listSubscribers(w http.ResponseWriter, r *http.Request) {
	if _, e := parseQuery(r, nil); e != nil {
		h.fail(w, r, e)
		return
	}
	subs, err := h.store.ListSubscriptions(r.Context())
	if err != nil {
		h.internal(w, r, "list subscribers", err)
		return
	}
	out := make([]subscriberJSON, 0, len(subs))
	for _, s := range subs {
		out = append(out, subscriberJSON{Name: s.Name, AfterID: s.AfterID, Pending: s.Pending, Dead: s.Dead,
			Attempts: s.Attempts, LastError: errorText(s.LastError), RetryAt: jsonTime(s.RetryAt)})
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Subscribers []subscriberJSON `json:"subscribers"`
	}{out})
}

func (h *handler) listDeadEvents(w http.ResponseWriter, r *http.Request) {
	name, e := subscriberName(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	q, e := parseQuery(r, []string{"limit", "cursor"})
	if e != nil {
		h.fail(w, r, e)
		return
	}
	limit, e := q.limit()
	if e != nil {
		h.fail(w, r, e)
		return
	}
	var after int64
	if c := q.get("cursor"); c != "" {
		if after, e = parseID(c); e != nil {
			h.fail(w, r, errBadRequest("cursor must be the next_cursor of the previous page"))
			return
		}
	}
	dead, err := h.store.ListDeadEvents(r.Context(), storage.ListDeadEventsParams{Subscriber: name, AfterID: after, Limit: limit + 1})
	if err != nil {
		h.internal(w, r, "list dead events", err)
		return
	}
	page := struct {
		DeadEvents []deadEventJSON `json:"dead_events"`
		NextCursor string          `json:"next_cursor,omitempty"`
	}{DeadEvents: make([]deadEventJSON, 0, min(len(dead), limit))}
	if len(dead) > limit {
		dead = dead[:limit]
		page.NextCursor = strconv.FormatInt(dead[limit-1].Event.ID, 10)
	}
	for _, d := range dead {
		page.DeadEvents = append(page.DeadEvents, toDeadEventJSON(d))
	}
	h.writeJSON(w, r, http.StatusOK, page)
}

func (h *handler) retryDeadEvent(w http.ResponseWriter, r *http.Request) {
	name, e := subscriberName(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	id, e := pathID(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	if e := h.readJSON(w, r, "", nil); e != nil {
		h.fail(w, r, e)
		return
	}
	d, err := h.store.RetryDeadEvent(r.Context(), name, id)
	if errors.Is(err, tracking.ErrNotFound) {
		h.fail(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: fmt.Sprintf("event %d is not dead for subscriber %s", id, name)})
		return
	}
	if err != nil {
		h.internal(w, r, "retry dead event", err)
		return
	}
	h.log.InfoContext(r.Context(), "adminhttp: dead event retry requested", "subscriber", name, "event", id, "actor", actorOf(r.Context()))
	h.writeJSON(w, r, http.StatusAccepted, struct {
		DeadEvent deadEventJSON `json:"dead_event"`
	}{toDeadEventJSON(d)})
}
