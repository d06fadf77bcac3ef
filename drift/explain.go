package drift

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Explanation says, for one install, why it is or is not updating: what
// plugindrift knows about it and, in Reasons, each thing that decides
// what happens next, with what would change it. Explain builds it.
type Explanation struct {
	Install tracking.Install
	// Upstream is the last resolution of the install's upstream; nil when
	// the install is not tracked or no sweep has resolved it yet.
	Upstream *tracking.Upstream
	// Open is the install's open entry, if any.
	Open *tracking.Update
	// Dismissed lists the install's dismissed entries from its installed
	// commit, newest first.
	Dismissed []tracking.Update
	// Holds lists the install's active holds.
	Holds []tracking.Hold
	// Reasons is the answer, most decisive first.
	Reasons []Reason
}

// Reason is one answer to "why isn't this updating?".
type Reason struct {
	// Code names the reason for programs: one of the Reason* constants.
	Code string
	// Message says what is the case; Change says what would change it.
	// Change names admin API routes as "POST {prefix}/…", {prefix} being
	// where the host mounted adminhttp's handler (which fills it in).
	Message string
	Change  string
}

// Codes of Reason.
const (
	ReasonNotTracked   = "not-tracked"
	ReasonNeverChecked = "never-checked"
	ReasonFailing      = "resolution-failing"
	ReasonUpToDate     = "up-to-date"
	ReasonAlarm        = "integrity-alarm"
	ReasonApplying     = "applying"
	ReasonManualOnly   = "auto-apply-off"
	ReasonRuleDeclines = "auto-apply-rule-declines"
	ReasonCooldown     = "cooldown"
	ReasonAutoApplies  = "auto-apply-will-take-it"
	ReasonDismissed    = "dismissed"
	ReasonHeld         = "held"
	ReasonNotQueued    = "not-queued-yet"

	// The open entry's signature check (see the package documentation,
	// Signatures), and an override in the install's history.
	ReasonVerificationRequired = "verification-required"
	ReasonNotVerified          = "signature-not-verified"
	ReasonVerified             = "signature-verified"
	ReasonNotChecked           = "signature-not-checked"
	ReasonOverridden           = "applied-unverified"
)

// explainPage bounds the dismissed entries Explain reads.
const explainPage = 100

// Explain says why workspaceID's pluginName is or is not updating. It
// reads only: the install, its upstream row, its entries and holds. An
// unknown install is tracking.ErrNotFound.
func (u *Updater) Explain(ctx context.Context, workspaceID, pluginName string) (Explanation, error) {
	op := "drift: explain " + workspaceID + "/" + pluginName
	in, err := u.store.GetInstall(ctx, workspaceID, pluginName)
	if err != nil {
		return Explanation{}, fmt.Errorf("%s: %w", op, err)
	}
	x := Explanation{Install: in}
	add := func(code, msg, change string) {
		x.Reasons = append(x.Reasons, Reason{Code: code, Message: msg, Change: change})
	}
	if !in.Tracked() {
		add(ReasonNotTracked, fmt.Sprintf("it follows %s of %s, which the sweeper never resolves", in.Ref, in.Source),
			"record it with a moving ref (tag:latest, semver:<constraint>, branch:<name>, head) of a git or github source")
		return x, nil
	}
	key := tracking.UpstreamKey{Source: in.Source, Ref: in.Ref}
	up, err := u.store.GetUpstream(ctx, key)
	switch {
	case errors.Is(err, tracking.ErrNotFound):
	case err != nil:
		return x, fmt.Errorf("%s: %w", op, err)
	default:
		x.Upstream = &up
	}
	open, err := u.store.ListUpdates(ctx, storage.ListUpdatesParams{WorkspaceID: workspaceID, PluginName: pluginName,
		Statuses: []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying}, Limit: 1})
	if err != nil {
		return x, fmt.Errorf("%s: %w", op, err)
	}
	if len(open) > 0 {
		x.Open = &open[0]
	}
	dismissed, err := u.store.ListUpdates(ctx, storage.ListUpdatesParams{WorkspaceID: workspaceID, PluginName: pluginName,
		Statuses: []tracking.UpdateStatus{tracking.StatusDismissed}, Newest: true, Limit: explainPage})
	if err != nil {
		return x, fmt.Errorf("%s: %w", op, err)
	}
	for _, d := range dismissed {
		if d.FromSHA == in.InstalledSHA {
			x.Dismissed = append(x.Dismissed, d)
		}
	}
	if x.Holds, err = u.store.ListHolds(ctx, storage.ListHoldsParams{WorkspaceID: workspaceID, PluginName: pluginName, Active: true, Limit: storage.MaxLimit}); err != nil {
		return x, fmt.Errorf("%s: %w", op, err)
	}

	if err := u.explainQueue(ctx, &x, key, add); err != nil {
		return x, fmt.Errorf("%s: %w", op, err)
	}
	applied, err := u.store.ListUpdates(ctx, storage.ListUpdatesParams{WorkspaceID: workspaceID, PluginName: pluginName,
		Statuses: []tracking.UpdateStatus{tracking.StatusApplied}, Newest: true, Limit: 1})
	if err != nil {
		return x, fmt.Errorf("%s: %w", op, err)
	}
	if len(applied) > 0 && applied[0].ToSHA == in.InstalledSHA && applied[0].Override != "" {
		a := applied[0]
		add(ReasonOverridden, fmt.Sprintf("it runs %s, which update %d installed although its signature was %s: %s overrode the trust policy at %s: %q", short(a.ToSHA), a.ID, a.Verification.State, a.DecidedBy, a.DecidedAt.Format(time.RFC3339), a.Override),
			"nothing stops its updates; roll it back (Updater.Rollback) if the commit should not run")
	}
	return x, nil
}

// explainQueue adds the reasons that decide what the queue does next for
// x.Install: the last resolution, the open entry, dismissals and holds.
func (u *Updater) explainQueue(ctx context.Context, x *Explanation, key tracking.UpstreamKey, add func(code, msg, change string)) error {
	in := x.Install
	switch {
	case x.Upstream == nil || x.Upstream.LastCheckedAt.IsZero():
		add(ReasonNeverChecked, fmt.Sprintf("no sweep has resolved %s yet", key), "run a sweep (Sweeper.RunOnce, POST {prefix}/sweeps) or wait for the schedule")
	case x.Upstream.LastError != "":
		add(ReasonFailing, fmt.Sprintf("resolving %s failed %d times in a row, last at %s: %s", key, x.Upstream.ConsecutiveFailures, x.Upstream.LastCheckedAt.Format(time.RFC3339), x.Upstream.LastError),
			"fix what the error names; the sweeper retries with backoff, or check it now (Sweeper.Check)")
	}
	if x.Open != nil {
		return u.explainOpen(ctx, *x.Open, add)
	}
	if x.Upstream == nil || x.Upstream.LastSHA == "" {
		return nil
	}
	last := *x.Upstream
	if last.LastSHA == in.InstalledSHA {
		add(ReasonUpToDate, fmt.Sprintf("it runs %s, what %s resolved to at %s", short(in.InstalledSHA), key, last.LastCheckedAt.Format(time.RFC3339)),
			"nothing to do: when upstream moves, the next check queues it")
		return nil
	}
	blocked := len(x.Reasons) // the reasons before: a failing resolution
	for _, d := range x.Dismissed {
		if d.ToSHA == last.LastSHA {
			add(ReasonDismissed, fmt.Sprintf("update %d to %s was dismissed by %s at %s: %q", d.ID, short(d.ToSHA), d.DecidedBy, d.DecidedAt.Format(time.RFC3339), d.Reason),
				"nothing re-queues a dismissed commit; a newer upstream is queued, or reinstall by hand")
			break
		}
	}
	for _, h := range x.Holds {
		if storage.HoldCovers(h, storage.ReconcileParams{Key: key, SHA: last.LastSHA, Version: last.LastVersion}) {
			add(ReasonHeld, fmt.Sprintf("hold %d keeps %s%s from it since %s rolled it back at %s: %q", h.ID, short(h.SHA), versionSuffix(h.Version, in.Ref), h.CreatedBy, h.CreatedAt.Format(time.RFC3339), h.Reason),
				fmt.Sprintf("release hold %d (Updater.ReleaseHold, POST {prefix}/holds/%d/release): the next check queues it; a newer upstream is queued anyway", h.ID, h.ID))
		}
	}
	if len(x.Reasons) == blocked {
		add(ReasonNotQueued, fmt.Sprintf("upstream is at %s but no entry is open yet", short(last.LastSHA)), "the next check queues it")
	}
	return nil
}

// explainOpen adds the reasons of an open entry: what auto-apply, or an
// operator, does with it.
func (u *Updater) explainOpen(ctx context.Context, e tracking.Update, add func(code, msg, change string)) error {
	switch {
	case e.Status == tracking.StatusApplying:
		add(ReasonApplying, fmt.Sprintf("update %d is being applied (claimed until %s)", e.ID, e.ClaimedUntil.Format(time.RFC3339)),
			"wait for it; an expired claim is taken over by the next apply")
	case e.Kind.Alarm():
		add(ReasonAlarm, fmt.Sprintf("update %d is a %s alarm, never applied automatically", e.ID, e.Kind),
			fmt.Sprintf("review the commit, then apply (POST {prefix}/plugin-updates/%d/apply) or dismiss it", e.ID))
	case e.Verification.Blocks():
		// Neither auto-apply nor Apply takes it: explainVerification
		// says why.
	case u.rule == nil:
		add(ReasonManualOnly, fmt.Sprintf("update %d waits for an operator: auto-apply is off", e.ID),
			fmt.Sprintf("apply it (POST {prefix}/plugin-updates/%d/apply), or set UpdaterConfig.AutoApply", e.ID))
	case !u.rule(e):
		add(ReasonRuleDeclines, fmt.Sprintf("update %d (%s) is not one the auto-apply rule accepts", e.ID, e.Kind),
			fmt.Sprintf("apply it by hand (POST {prefix}/plugin-updates/%d/apply), or widen UpdaterConfig.AutoApply", e.ID))
	case u.clock().Before(e.DetectedAt.Add(u.minAge)):
		add(ReasonCooldown, fmt.Sprintf("update %d is in its cooldown until %s (UpdaterConfig.MinAge %s)", e.ID, e.DetectedAt.Add(u.minAge).Format(time.RFC3339), u.minAge),
			"wait, or apply it by hand now")
	default:
		gate, err := u.ringGate(ctx, e)
		if err != nil {
			return err
		}
		if gate != nil {
			add(gate.Code, gate.Message, gate.Change)
			return nil
		}
		add(ReasonAutoApplies, fmt.Sprintf("update %d is taken by the next auto-apply run", e.ID), "nothing to do")
	}
	explainVerification(e, add)
	return nil
}

// explainVerification adds the reason of an open entry's signature check:
// whether its trust policy blocks it, and what was found.
func explainVerification(e tracking.Update, add func(code, msg, change string)) {
	v := e.Verification
	switch {
	case v.Blocks():
		add(ReasonVerificationRequired, fmt.Sprintf("update %d moves to %s, which is %s, and its trust policy %s requires a verified signature: %s", e.ID, short(e.ToSHA), v.State, v.Policy, v.Detail),
			"sign the commit with a trusted key, add the signer to the policy, or apply with an override and a reason (ApplyUnverified)")
	case v.State == tracking.VerificationVerified:
		add(ReasonVerified, fmt.Sprintf("update %d moves to %s, signed by %s (verified by %s under policy %s)", e.ID, short(e.ToSHA), v.Signer, v.By, v.Policy),
			"nothing to do")
	case v.State == tracking.VerificationNotChecked && v.Policy == "":
		add(ReasonNotChecked, fmt.Sprintf("no trust policy applies to %s: the signature of %s is not checked", e.Source, short(e.ToSHA)),
			"set SweeperConfig.Verifier with a rule for this repository; the next sweep checks the commit")
	case v.State == tracking.VerificationNotChecked:
		add(ReasonNotChecked, fmt.Sprintf("the signature of %s was not checked under policy %s: %s", short(e.ToSHA), v.Policy, v.Detail),
			"fix what the detail names; the next sweep checks the commit again")
	default:
		add(ReasonNotVerified, fmt.Sprintf("update %d moves to %s, which is %s: %s; its trust policy %s records this and does not require a verified signature", e.ID, short(e.ToSHA), v.State, v.Detail, v.Policy),
			"nothing is needed to apply it; to refuse commits like it, make the policy require a verified signature")
	}
}

func versionSuffix(version string, ref tracking.Ref) string {
	if version == "" {
		return ""
	}
	if k := ref.Kind(); k == tracking.RefLatest || k == tracking.RefSemver {
		return " (" + version + " and anything not newer)"
	}
	return " (" + version + ")"
}

func short(sha string) string { return sha[:min(len(sha), 12)] }
