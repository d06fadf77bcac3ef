package adminhttp

import (
	"context"
	"errors"
	"net/http"

	"github.com/plugindrift/plugindrift/drift"
)

// Operation is what a request wants to do; [Config].Authorize is told it,
// so a host can grant some operations and refuse others (a read-only role
// is one that is granted OpRead only). Every route of the handler names
// exactly one operation, listed in the package documentation.
type Operation string

// The operations. A route added later names one of these, or a new one
// added here (never renamed).
const (
	// OpRead: see the queue, its entries, installs, upstreams and sweeps;
	// the page itself.
	OpRead Operation = "read"
	// OpApply: apply entries, one or many, and retry a failed restart.
	OpApply Operation = "apply"
	// OpDismiss: dismiss entries, one or many, and restore a dismissed
	// entry to pending (undoing a dismissal is the same decision).
	OpDismiss Operation = "dismiss"
	// OpSweep: run a sweep now, or check chosen upstreams now.
	OpSweep Operation = "sweep"
	// OpRollback: install an earlier commit of an install.
	OpRollback Operation = "rollback"
	// OpHolds: release holds that keep a commit from being queued (a
	// rollback makes them, under OpRollback; listing them is OpRead).
	OpHolds Operation = "holds"
	// OpEvents: read and manage the event outbox and its subscribers.
	OpEvents Operation = "events"
)

// Operations returns every operation, in a fixed order.
func Operations() []Operation {
	return []Operation{OpRead, OpApply, OpDismiss, OpSweep, OpRollback, OpHolds, OpEvents}
}

// opWords says what an operation does, for the 403 message.
func opWords(op Operation) string {
	switch op {
	case OpRead:
		return "view the plugin update queue"
	case OpApply:
		return "apply plugin updates"
	case OpDismiss:
		return "dismiss or restore plugin updates"
	case OpSweep:
		return "run sweeps or check upstreams"
	case OpRollback:
		return "roll back plugins"
	case OpHolds:
		return "release holds"
	case OpEvents:
		return "manage events"
	}
	return "do this"
}

// authorize runs Config.Authorize for op and holds its actor to what the
// Updater can record. It returns the actor, or the error to deny with.
func (h *handler) authorize(r *http.Request, op Operation) (string, error) {
	actor, err := h.authorizeFn(r, op)
	if err != nil {
		return "", err
	}
	// Held to what the Updater can record, so that a misbehaving
	// Authorize is caught here rather than as a bad request later.
	if err := drift.ValidateActor(actor); err != nil {
		h.log.ErrorContext(r.Context(), "adminhttp: Authorize returned an unusable actor; request denied", "path", r.URL.Path, "op", string(op), "error", err)
		return "", ErrForbidden
	}
	return actor, nil
}

// may reports whether the request's caller may perform op, for the page
// to leave out the controls of operations it may not.
func (h *handler) may(r *http.Request, op Operation) bool {
	_, err := h.authorize(r, op)
	return err == nil
}

// guard wraps a route's handler: it authorizes op, then (for state
// changing methods) checks the request is not cross-origin, then runs fn
// with the actor in the request's context. An empty op serves fn without
// authorization (the stylesheet only).
func (h *handler) guard(op Operation, fn http.HandlerFunc) http.HandlerFunc {
	if op == "" {
		return fn
	}
	return func(w http.ResponseWriter, r *http.Request) {
		actor, err := h.authorize(r, op)
		if err != nil {
			h.deny(w, r, op, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), actorKey{}, actor))
		if err := h.cop.Check(r); err != nil {
			h.log.WarnContext(r.Context(), "adminhttp: cross-origin request refused",
				"method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"),
				"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "actor", actor)
			h.fail(w, r, errCrossOrigin)
			return
		}
		fn(w, r)
	}
}

// deny answers a request whose Authorize failed for op.
func (h *handler) deny(w http.ResponseWriter, r *http.Request, op Operation, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		h.log.DebugContext(r.Context(), "adminhttp: unauthenticated request", "method", r.Method, "path", r.URL.Path, "op", string(op))
		if h.onUnauthenticated != nil && h.isPagePath(r.URL.Path) {
			h.onUnauthenticated(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", h.challenge)
		h.fail(w, r, errUnauthenticated)
		return
	case errors.Is(err, ErrForbidden):
		h.log.InfoContext(r.Context(), "adminhttp: forbidden request", "method", r.Method, "path", r.URL.Path, "op", string(op))
	default:
		h.log.WarnContext(r.Context(), "adminhttp: Authorize failed; request denied", "method", r.Method, "path", r.URL.Path, "op", string(op), "error", err)
	}
	e := *errForbidden
	e.message = "you may not " + opWords(op)
	// The error page links back to the page only when the caller may
	// read it; a link from a refused page to itself would loop.
	e.noBack = h.isPagePath(r.URL.Path) && (op == OpRead || !h.may(r, OpRead))
	h.fail(w, r, &e)
}
