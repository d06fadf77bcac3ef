package adminhttp

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/plugindrift/plugindrift/tracking"
)

// readForm caps, reads and parses an urlencoded form body.
func (h *handler) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *apiError) {
	body, e := readBody(w, r, h.maxBody)
	if e != nil {
		return nil, e
	}
	if len(body) == 0 {
		return url.Values{}, nil
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
			message: "submit the form from the admin page (application/x-www-form-urlencoded)"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errBadRequest("the form data is malformed")
	}
	return form, nil
}

// back returns where a form post redirects to: the page with the filters
// the form was posted from. Invalid filters are dropped; the target is
// always built here, never taken from the request.
func (h *handler) back(form url.Values, done outcome) string {
	f, e := parseFilters(query{values: form})
	if e != nil {
		f = filters{}
	}
	q := f.values()
	done.set(q)
	return h.pageURL(q)
}

// formDecision reads what both decision forms post: the entry's id and
// the form. It returns the outcome of op on that entry as if it succeeded,
// for the form to amend. On failure it has answered, and ok is false.
func (h *handler) formDecision(w http.ResponseWriter, r *http.Request, op string) (done outcome, form url.Values, ok bool) {
	id, e := pathID(r)
	if e == nil {
		form, e = h.readForm(w, r)
	}
	if e != nil {
		h.fail(w, r, e)
		return outcome{}, nil, false
	}
	return outcome{Op: op, ID: id, Result: resultOK}, form, true
}

// formApply serves POST {prefix}/ui/plugin-updates/{id}/apply.
func (h *handler) formApply(w http.ResponseWriter, r *http.Request) {
	done, form, ok := h.formDecision(w, r, opApply)
	if !ok {
		return
	}
	d := decision{op: opApply, id: done.ID, actor: actorOf(r.Context()), confirmed: form.Get("confirm") == "tag-moved"}
	if _, ok := form["unverified_reason"]; ok {
		// The "Apply unverified" form of an entry its trust policy blocks.
		reason := form.Get("unverified_reason")
		d.withOverride(&reason)
	}
	done.Result = h.formResult(h.decide(r.Context(), d))
	h.redirect(w, r, form, done)
}

// formResult is the outcome's result of a decision made from a form.
func (h *handler) formResult(_ tracking.Update, e *apiError) string {
	switch {
	case e == nil:
		return resultOK
	case e.code == codeConfirmationRequired:
		return resultConfirmTagMoved
	}
	return e.code
}

// formDismiss serves POST {prefix}/ui/plugin-updates/{id}/dismiss. The
// reason is held to the Updater's rules by the Updater itself.
func (h *handler) formDismiss(w http.ResponseWriter, r *http.Request) {
	done, form, ok := h.formDecision(w, r, opDismiss)
	if !ok {
		return
	}
	done.Result = h.formResult(h.decide(r.Context(), decision{op: opDismiss, id: done.ID, actor: actorOf(r.Context()),
		reason: strings.TrimSpace(form.Get("reason"))}))
	h.redirect(w, r, form, done)
}

// formRestore serves POST {prefix}/ui/plugin-updates/{id}/restore.
func (h *handler) formRestore(w http.ResponseWriter, r *http.Request) {
	done, form, ok := h.formDecision(w, r, opRestore)
	if !ok {
		return
	}
	done.Result = h.formResult(h.decide(r.Context(), decision{op: opRestore, id: done.ID, actor: actorOf(r.Context())}))
	h.redirect(w, r, form, done)
}

// formSweep serves POST {prefix}/ui/sweeps: it triggers a sweep, waits up
// to SweepWait for it, and goes back to the page, which shows how the
// latest sweep went (still running, or its report).
func (h *handler) formSweep(w http.ResponseWriter, r *http.Request) {
	if h.sweeper == nil {
		h.fail(w, r, errNoSweeper)
		return
	}
	form, e := h.readForm(w, r)
	if e != nil {
		h.fail(w, r, e)
		return
	}
	h.awaitSweep(r)
	h.redirect(w, r, form, outcome{Op: opSweep})
}

// redirect ends a form post with 303 to the page, its filters kept and
// the outcome in the query (POST/redirect/GET).
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, form url.Values, done outcome) {
	http.Redirect(w, r, h.back(form, done), http.StatusSeeOther)
}
