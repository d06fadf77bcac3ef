package adminhttp

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxBulk is the most entries one bulk request may name.
const MaxBulk = 100

// The bodies of the bulk routes.
const (
	bulkApplyShape   = `"ids": [1, 2], "confirm_tag_moved": true, "unverified_reason": "…"`
	bulkDismissShape = `"ids": [1, 2], "reason": "…"`
	bulkRestoreShape = `"ids": [1, 2]`
)

// bulkResult is the outcome of one entry of a bulk request.
type bulkResult struct {
	ID     int64          `json:"id"`
	OK     bool           `json:"ok"`
	Error  *bulkErrorJSON `json:"error"`
	Update *updateJSON    `json:"update"`
}

type bulkErrorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type bulkBody struct {
	Results   []bulkResult `json:"results"`
	Succeeded int          `json:"succeeded"`
	Failed    int          `json:"failed"`
}

// checkIDs holds the ids of a bulk request to the rules: 1 to MaxBulk
// positive ids, each once.
func checkIDs(ids []int64) *apiError {
	if len(ids) == 0 || len(ids) > MaxBulk {
		return errBadRequest(fmt.Sprintf("ids must list 1 to %d update ids, got %d", MaxBulk, len(ids)))
	}
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if id < 1 {
			return errBadRequest(fmt.Sprintf("ids must be positive update ids, got %d", id))
		}
		if seen[id] {
			return errBadRequest(fmt.Sprintf("update %d is listed twice in ids; list each once", id))
		}
		seen[id] = true
	}
	return nil
}

// bulk serves POST {prefix}/bulk/{apply,dismiss,restore}: the decision op
// on each listed entry in turn, each on its own (one failing never stops
// or undoes the others), answered 200 with one result per entry, in the
// order given, whenever the request itself was valid.
func (h *handler) bulk(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var (
			ids        []int64
			reason     string
			confirmed  bool
			unverified *string
			shape      string
			fields     = map[string]any{"ids": &ids}
		)
		switch op {
		case opApply:
			shape, fields["confirm_tag_moved"], fields["unverified_reason"] = bulkApplyShape, &confirmed, &unverified
		case opDismiss:
			shape, fields["reason"] = bulkDismissShape, &reason
		default:
			shape = bulkRestoreShape
		}
		if e := h.readJSON(w, r, shape, fields); e != nil {
			h.fail(w, r, e)
			return
		}
		if e := checkIDs(ids); e != nil {
			h.fail(w, r, e)
			return
		}
		d := decision{op: op, reason: reason, confirmed: confirmed}
		d.withOverride(unverified)
		body := h.decideAll(r, ids, d)
		h.writeJSON(w, r, http.StatusOK, body)
	}
}

// decideAll makes decision d on each of ids in turn, as the request's
// actor.
func (h *handler) decideAll(r *http.Request, ids []int64, d decision) bulkBody {
	body := bulkBody{Results: make([]bulkResult, 0, len(ids))}
	actor := actorOf(r.Context())
	op := d.op
	for _, id := range ids {
		d.id, d.actor = id, actor
		u, e := h.decide(r.Context(), d)
		res := bulkResult{ID: id, OK: e == nil}
		switch {
		case e == nil:
			res.Update = toUpdateJSON(u)
			body.Succeeded++
		default:
			res.Error = &bulkErrorJSON{Code: e.code, Message: e.message}
			res.Update = e.update
			body.Failed++
		}
		body.Results = append(body.Results, res)
	}
	h.log.InfoContext(r.Context(), "adminhttp: bulk "+op, "actor", actor, "entries", len(ids), "succeeded", body.Succeeded, "failed", body.Failed)
	return body
}

// formIDs reads the "id" values of a bulk form.
func formIDs(vals []string) ([]int64, *apiError) {
	ids := make([]int64, 0, len(vals))
	for _, v := range vals {
		id, e := parseID(v)
		if e != nil {
			return nil, e
		}
		ids = append(ids, id)
	}
	return ids, checkIDs(ids)
}

// formBulk serves POST {prefix}/ui/bulk/{apply,dismiss}: the group's
// "Apply all" and "Dismiss all". It redirects to the page naming the
// entries, whose flash counts how many are now in the state asked for.
func (h *handler) formBulk(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		form, e := h.readForm(w, r)
		if e != nil {
			h.fail(w, r, e)
			return
		}
		ids, e := formIDs(form["id"])
		if e != nil {
			h.fail(w, r, e)
			return
		}
		h.decideAll(r, ids, decision{op: op, reason: strings.TrimSpace(form.Get("reason"))})
		h.redirect(w, r, form, outcome{Op: bulkOp(op), IDs: ids})
	}
}

// bulkOp names a bulk form's outcome ("bulk_apply", "bulk_dismiss").
func bulkOp(op string) string { return "bulk_" + op }

// joinIDs and splitIDs write and read the ids of a bulk outcome.
func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

func splitIDs(s string) ([]int64, *apiError) {
	ids, e := formIDs(strings.Split(s, ","))
	if e != nil {
		return nil, errBadRequest("ids must be 1 to " + strconv.Itoa(MaxBulk) + " update ids separated by commas, each once")
	}
	return slices.Clip(ids), nil
}
