package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// A form post ends in a redirect to the page whose query names what
// happened, as codes: op (the form), result (for a decision: resultOK or
// the error code decisionError gave) and id (the entry). It never carries
// words. The page writes the message itself from the current state of the
// entry in the store, or of the latest sweep, and says nothing when that
// state does not bear the result out. So a crafted or stale link can only
// say what is true now, and no cookie, key or shared state between
// replicas is needed.

// The forms whose outcome the page shows.
const (
	opApply   = "apply"
	opDismiss = "dismiss"
	opRestore = "restore" // a dismissed entry back to pending
	opSweep   = "sweep"
)

// Results of a decision besides the API's error codes.
const (
	resultOK              = "ok"
	resultConfirmTagMoved = "confirm_tag_moved" // a moved tag, posted without its box ticked
)

// decisionResults are the results an apply or dismiss outcome may name.
var decisionResults = []string{resultOK, resultConfirmTagMoved, codeVerificationRequired, codeInstallFailed, codeRestartFailed,
	codeNotFound, codeBusy, codeClaimLost, codeConflict, codeBadRequest, codeInternal}

// outcome is what a form post did, as the redirect's query names it.
type outcome struct {
	Op     string  // "" for none
	Result string  // for opApply, opDismiss, opRestore, opRelease and opRollback
	ID     int64   // the entry; for opRelease the hold
	IDs    []int64 // for the bulk ops
}

// set adds the outcome to a page query.
func (o outcome) set(q url.Values) {
	if o.Op == "" {
		return
	}
	q.Set("op", o.Op)
	switch o.Op {
	case opSweep:
		return
	case bulkOp(opApply), bulkOp(opDismiss):
		q.Set("ids", joinIDs(o.IDs))
		return
	}
	result := o.Result
	if !slices.Contains(decisionResults, result) {
		result = codeInternal
	}
	q.Set("result", result)
	q.Set("id", strconv.FormatInt(o.ID, 10))
}

// parseOutcome reads op, result and id from the page's query. Anything
// but an outcome set would write is refused.
func parseOutcome(q query) (outcome, *apiError) {
	o := outcome{Op: q.get("op"), Result: q.get("result")}
	_, hasOp := q.values["op"]
	_, hasResult := q.values["result"]
	id, hasID := q.values["id"]
	ids, hasIDs := q.values["ids"]
	switch {
	case !hasOp && !hasResult && !hasID && !hasIDs:
		return o, nil
	case !hasOp:
		return outcome{}, errBadRequest("result, id and ids describe the outcome of an op: give op as well, or none of them")
	case o.Op == opSweep:
		if hasResult || hasID || hasIDs {
			return outcome{}, errBadRequest("op=sweep takes no result or id: the page shows the latest sweep")
		}
		return o, nil
	case o.Op == bulkOp(opApply) || o.Op == bulkOp(opDismiss):
		if hasResult || hasID || !hasIDs {
			return outcome{}, errBadRequest(fmt.Sprintf("op=%s takes ids and nothing else", o.Op))
		}
		var e *apiError
		o.IDs, e = splitIDs(ids[0])
		return o, e
	case hasIDs:
		return outcome{}, errBadRequest(fmt.Sprintf("op=%s takes an id, not ids", redact.Quote(o.Op)))
	case o.Op != opApply && o.Op != opDismiss && o.Op != opRestore && o.Op != opRelease && o.Op != opRollback:
		return outcome{}, errBadRequest(fmt.Sprintf("unknown op %s; use apply, dismiss, restore, release, rollback, bulk_apply, bulk_dismiss or sweep", redact.Quote(o.Op)))
	case !slices.Contains(decisionResults, o.Result):
		return outcome{}, errBadRequest(fmt.Sprintf("result %s is not an outcome of %s; use one of %s",
			redact.Quote(o.Result), o.Op, strings.Join(decisionResults, ", ")))
	case !hasID:
		return outcome{}, errBadRequest(fmt.Sprintf("op=%s needs the id of the update", o.Op))
	}
	var e *apiError
	if o.ID, e = parseID(id[0]); e != nil {
		return outcome{}, e
	}
	return o, nil
}

// flash is the message the page shows about the outcome of a form post.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

func flashOK(format string, args ...any) *flash {
	return &flash{Kind: "ok", Message: fmt.Sprintf(format, args...)}
}

func flashError(format string, args ...any) *flash {
	return &flash{Kind: "error", Message: fmt.Sprintf(format, args...)}
}

// outcomeFlash words an outcome from the current state of what it names,
// or returns nil when there is nothing true to say.
func (h *handler) outcomeFlash(ctx context.Context, o outcome) *flash {
	switch o.Op {
	case "":
		return nil
	case opSweep:
		if h.sweeper == nil {
			return nil
		}
		return sweepFlash(h.sweeper.LatestSweep(ctx))
	case bulkOp(opApply), bulkOp(opDismiss):
		return h.bulkFlash(ctx, o)
	case opRelease:
		return h.holdFlash(ctx, o)
	}
	u, err := h.store.GetUpdate(ctx, o.ID)
	if errors.Is(err, tracking.ErrNotFound) {
		if o.Result == codeNotFound {
			return flashError("Update #%d does not exist.", o.ID)
		}
		return nil
	}
	if err != nil {
		h.log.ErrorContext(ctx, "adminhttp: read the update an outcome names", "update", o.ID, "error", err)
		return nil
	}
	if o.Op == opRollback {
		return rollbackFlash(o, u)
	}
	return decisionFlash(o, u)
}

// decisionFlash words the outcome of an apply or dismiss form from u, the
// entry as it is now, or returns nil when u does not bear it out.
func decisionFlash(o outcome, u tracking.Update) *flash {
	target := targetStatus(o.Op)
	apply := o.Op == opApply
	switch o.Result {
	case resultOK:
		switch {
		case u.Status != target:
		case apply && u.Override != "":
			return flashOK("Applied %s %s to workspace %s although its signature is not verified; your reason is recorded with it.", u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		case apply:
			return flashOK("Applied %s %s to workspace %s.", u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		case o.Op == opRestore:
			return flashOK("Restored %s %s → %s in workspace %s: it is pending again.", u.PluginName,
				versionOrSHA(u.FromVersion, u.FromSHA), versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		default:
			return flashOK("Dismissed %s %s → %s in workspace %s.", u.PluginName,
				versionOrSHA(u.FromVersion, u.FromSHA), versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		}
	case resultConfirmTagMoved:
		if apply && u.Kind == tracking.KindHistoryRewritten && u.Status == tracking.StatusPending {
			return flashError("Update #%d follows a force-push: the branch's new history does not contain the installed commit. Compare the commits, then tick “I compared the commits” to apply it.", u.ID)
		}
		if apply && u.Kind == tracking.KindTagMoved && u.Status == tracking.StatusPending {
			return flashError("Update #%d re-points an existing tag at another commit. Compare the commits, then tick “I compared the commits” to apply it.", u.ID)
		}
	case codeVerificationRequired:
		if apply && u.Status == tracking.StatusPending && u.Verification.Blocks() {
			return flashError("Update #%d was not applied: its commit is %s, and its trust policy requires a verified signature. Review the commit, then use “Apply unverified” with a reason, which is recorded.", u.ID, verificationWords(u.Verification.State))
		}
	case codeInstallFailed:
		if apply && u.Status == tracking.StatusPending && u.LastError != "" {
			return flashError("Installing %s %s in workspace %s failed; the update is pending again (attempt %d). The installer's error is shown in its row.",
				u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID, u.Attempts)
		}
	case codeRestartFailed:
		if apply && u.Status == tracking.StatusApplied && u.RestartError != "" {
			return flashError("Installed %s %s in workspace %s, but restarting the workspace failed. Use “Retry restart” in the history to try again.",
				u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), u.WorkspaceID)
		}
	case codeClaimLost:
		// The store cannot confirm it afterwards: what is said stays
		// within what is true of any apply that lost its claim.
		if apply {
			return flashError("Update #%d was taken over by another apply while this one was installing; this one's outcome was not recorded. The entry shows its current state.", u.ID)
		}
	case codeBusy:
		if u.Status == tracking.StatusApplying {
			return flashError("Update #%d is being applied by someone else right now; nothing was changed.", u.ID)
		}
	case codeConflict:
		if o.Op == opRestore {
			if u.Status == tracking.StatusDismissed {
				return flashError("%s; nothing was changed.", upperFirst(notCurrentMessage(u.ID)))
			}
			if u.Status == tracking.StatusPending {
				return nil
			}
			return flashError("Update #%d is %s, so it cannot be restored; nothing was changed.", u.ID, u.Status)
		}
		// Applying an entry being applied is busy, not a conflict.
		if u.Status != tracking.StatusPending && u.Status != target && !(apply && u.Status == tracking.StatusApplying) {
			return flashError("Update #%d is %s, so it cannot be %s; nothing was changed.", u.ID, u.Status, pastTense(o.Op))
		}
	case codeBadRequest:
		switch {
		case u.Status == target:
		case apply && u.Verification.Blocks():
			return flashError("Update #%d was not applied: %s.", u.ID, overrideRule)
		case apply:
			return flashError("Update #%d was not applied: the updater refused the request; the server log has the details.", u.ID)
		default:
			return flashError("Update #%d was not dismissed: %s.", u.ID, reasonRule)
		}
	case codeInternal:
		if u.Status != target {
			return flashError("Update #%d was not %s: something went wrong; the server log has the details.", u.ID, pastTense(o.Op))
		}
	}
	return nil
}

// targetStatus is the status a decision's op leaves an entry in.
func targetStatus(op string) tracking.UpdateStatus {
	switch op {
	case opApply, bulkOp(opApply):
		return tracking.StatusApplied
	case opDismiss, bulkOp(opDismiss):
		return tracking.StatusDismissed
	}
	return tracking.StatusPending
}

// bulkFlash words the outcome of "Apply all" or "Dismiss all" from the
// entries as they are now: how many of them are in the state asked for.
func (h *handler) bulkFlash(ctx context.Context, o outcome) *flash {
	target := targetStatus(o.Op)
	var done []tracking.Update
	for _, id := range o.IDs {
		u, err := h.store.GetUpdate(ctx, id)
		if err != nil {
			if !errors.Is(err, tracking.ErrNotFound) {
				h.log.ErrorContext(ctx, "adminhttp: read the updates an outcome names", "update", id, "error", err)
				return nil
			}
			continue
		}
		if u.Status == target {
			done = append(done, u)
		}
	}
	verb := "Applied"
	if target == tracking.StatusDismissed {
		verb = "Dismissed"
	}
	switch {
	case len(done) == 0:
		return flashError("None of the %s was %s; each row shows why.", plural(len(o.IDs), "update", "updates"), strings.ToLower(verb))
	case len(done) < len(o.IDs):
		return flashError("%s %d of %s; the rest are still in the queue, each row shows why.", verb, len(done), plural(len(o.IDs), "update", "updates"))
	}
	u := done[0]
	for _, d := range done {
		if d.PluginName != u.PluginName || d.ToSHA != u.ToSHA {
			return flashOK("%s %s.", verb, plural(len(done), "update", "updates"))
		}
	}
	return flashOK("%s %s %s in %s.", verb, u.PluginName, versionOrSHA(u.ToVersion, u.ToSHA), plural(len(done), "workspace", "workspaces"))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// versionOrSHA names a commit in a message: by its version when it has
// one, else by its short SHA.
func versionOrSHA(version, sha string) string {
	if version != "" {
		return version
	}
	return shortSHA(sha)
}

// sweepFlash words the state of the latest sweep after "Sweep now"; its
// report is in the page's "Last sweep" panel.
func sweepFlash(st drift.SweepStatus) *flash {
	switch sweepState(st) {
	case sweepNone:
		return nil
	case sweepRunning:
		return flashOK("The sweep is running; reload the page to see its report below when it is done.")
	case sweepFailed:
		return flashError("The sweep could not finish; “Last sweep” below says why.")
	}
	switch rep := st.Report; {
	case rep.Skipped:
		return flashOK("Another replica is sweeping right now, so this sweep was skipped. What it finds joins the queue when it is done.")
	case rep.Failed > 0:
		return flashError("Sweep done, but %s could not be resolved.", plural(rep.Failed, "upstream", "upstreams"))
	default:
		return flashOK("Sweep done: %s queued.", plural(rep.Queued, "new update", "new updates"))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
