package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// decision is one operator decision on one entry, as the API's single and
// bulk routes and the page's forms all make it.
type decision struct {
	op     string // opApply, opDismiss or opRestore
	id     int64
	actor  string
	reason string // for opDismiss
	// confirmed: the caller confirmed applying an integrity alarm (a moved
	// tag) after comparing the commits.
	confirmed bool
	// unverified: the caller applies over a trust policy that blocks the
	// entry (its signature is not verified), for the reason override;
	// the Updater holds override to its rules and records it.
	unverified bool
	override   string
}

// errConfirmTagMoved is the answer to applying an integrity alarm (a
// moved tag, a rewritten history) unconfirmed.
func errConfirmTagMoved(id int64) *apiError {
	return &apiError{status: http.StatusConflict, code: codeConfirmationRequired,
		message: fmt.Sprintf("update %d is an integrity alarm (an existing tag re-pointed at another commit, or a branch force-pushed to a history without the installed commit): compare the commits, then apply it again with {\"confirm_tag_moved\": true}", id)}
}

// decide makes d and returns the entry as it is after, or the response
// error (from decisionError, which logged it). It is the one place the
// rules of a decision live: a moved tag is applied only when confirmed
// (the entry is read first unless it was); an entry whose verification
// blocks it only with an override reason, which the Updater refuses
// without (drift.ErrUnverified); an alarm that is also blocked needs
// both; dismiss and apply go through the Updater, restore through the
// store.
func (h *handler) decide(ctx context.Context, d decision) (tracking.Update, *apiError) {
	var (
		u   tracking.Update
		err error
	)
	switch d.op {
	case opApply:
		if !d.confirmed {
			cur, err := h.store.GetUpdate(ctx, d.id)
			if err != nil {
				return tracking.Update{}, h.decisionError(ctx, d.op, d.id, d.actor, tracking.Update{}, err)
			}
			if cur.Kind.Alarm() && cur.Status == tracking.StatusPending {
				e := errConfirmTagMoved(d.id)
				e.update = toUpdateJSON(cur)
				return cur, e
			}
		}
		if d.unverified {
			u, err = h.updater.ApplyUnverified(ctx, d.id, d.actor, d.override)
		} else {
			u, err = h.updater.Apply(ctx, d.id, d.actor)
		}
	case opDismiss:
		u, err = h.updater.Dismiss(ctx, d.id, d.actor, d.reason)
	case opRestore:
		u, err = h.store.RestoreUpdate(ctx, storage.RestoreUpdateParams{ID: d.id, At: h.now()})
		if err == nil {
			h.log.InfoContext(ctx, "adminhttp: dismissed update restored to pending", "update", d.id, "actor", d.actor)
		}
	default:
		return tracking.Update{}, errInternal
	}
	if err != nil {
		return u, h.decisionError(ctx, d.op, d.id, d.actor, u, err)
	}
	return u, nil
}

// withOverride sets the override of an apply from the request's
// "unverified_reason", of the JSON body or the page's form (nil when the
// request has none). Surrounding blanks
// are dropped, so a reason of blanks alone is empty, and refused.
func (d *decision) withOverride(reason *string) {
	if reason != nil {
		d.unverified, d.override = true, strings.TrimSpace(*reason)
	}
}

// errVerificationRequired is the answer to applying, without an override
// reason, an entry whose trust policy requires a verified signature that
// its commit lacks.
func errVerificationRequired(id int64, state tracking.VerificationState) *apiError {
	return &apiError{status: http.StatusConflict, code: codeVerificationRequired,
		message: fmt.Sprintf("update %d's commit is %s, and its trust policy requires a verified signature: review the commit, then apply it again with {\"unverified_reason\": \"…\"} saying why it may be installed unverified (the reason is recorded)", id, verificationWords(state))}
}

// overrideRule says what an override reason may be.
var overrideRule = fmt.Sprintf("the reason (unverified_reason) must say why the unverified commit may be installed: 1 to %d bytes of UTF-8 text, with no control characters but newline and tab", drift.MaxReasonLen)

// notCurrentMessage says why a dismissed entry cannot be restored.
func notCurrentMessage(id int64) string {
	return fmt.Sprintf("update %d cannot be restored: its change is no longer current (the install or upstream moved on, or another update is open for the install)", id)
}

// isNotCurrent reports whether err is a restore refused because the
// dismissed entry's change is no longer current.
func isNotCurrent(op string, u tracking.Update, err error) bool {
	return op == opRestore && u.Status == tracking.StatusDismissed && errors.Is(err, tracking.ErrConflict)
}

// restore serves POST {prefix}/plugin-updates/{id}/restore.
func (h *handler) restore(w http.ResponseWriter, r *http.Request) {
	h.decideOne(w, r, opRestore)
}

// decideOne serves the API's single-entry decisions: the id from the path,
// the body's fields for op, then decide.
func (h *handler) decideOne(w http.ResponseWriter, r *http.Request, op string) {
	id, e := pathID(r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	var (
		reason     string
		confirmed  bool
		unverified *string
		shape      string
		fields     map[string]any
	)
	switch op {
	case opDismiss:
		shape, fields = dismissShape, map[string]any{"reason": &reason}
	case opApply:
		shape, fields = applyShape, map[string]any{"confirm_tag_moved": &confirmed, "unverified_reason": &unverified}
	}
	if e := h.readJSON(w, r, shape, fields); e != nil {
		h.fail(w, r, e)
		return
	}
	d := decision{op: op, id: id, actor: actorOf(r.Context()), reason: reason, confirmed: confirmed}
	d.withOverride(unverified)
	u, e := h.decide(r.Context(), d)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.writeJSON(w, r, http.StatusOK, updateBody{toUpdateJSON(u)})
}
