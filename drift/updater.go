package drift

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Installer installs one exact commit of a plugin into a workspace. It is
// provided by the host.
type Installer interface {
	// Install must install req.SHA — exactly that commit, never "whatever
	// the ref points at now" — and return only once it is in place. It
	// must be idempotent for one commit: after a crash it may be called
	// again for the same request. It should stop when ctx is done.
	Install(ctx context.Context, req InstallRequest) error
}

// InstallRequest is what the Installer is asked to install.
type InstallRequest struct {
	UpdateID    int64
	WorkspaceID string
	PluginName  string
	Source      tracking.Source
	Ref         tracking.Ref
	// SHA is the reviewed commit (the entry's ToSHA).
	SHA string
	// Version is the tag name of SHA, when known.
	Version string
	// FromSHA is the commit installed before.
	FromSHA string
}

// InstallerFunc adapts a function to Installer.
type InstallerFunc func(ctx context.Context, req InstallRequest) error

// Install calls f.
func (f InstallerFunc) Install(ctx context.Context, req InstallRequest) error { return f(ctx, req) }

// Restarter restarts a workspace so it picks up newly installed plugins.
// It is provided by the host.
type Restarter interface {
	// Restart should be idempotent: a failed restart is retried by applying
	// the same entry again.
	Restart(ctx context.Context, workspaceID string) error
}

// RestarterFunc adapts a function to Restarter.
type RestarterFunc func(ctx context.Context, workspaceID string) error

// Restart calls f.
func (f RestarterFunc) Restart(ctx context.Context, workspaceID string) error {
	return f(ctx, workspaceID)
}

// UpdaterConfig configures an Updater. nil means all defaults.
type UpdaterConfig struct {
	// ApplyTimeout is how long an apply claim lasts, and so the longest an
	// install may take; after it a crashed apply can be taken over. The
	// store's clock judges it, not Now. At most storage.MaxClaimTTL.
	// Defaults to 10 minutes.
	ApplyTimeout time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives one record per decision. Defaults to discarding.
	Logger *slog.Logger
	// Observer is shown every Apply and its steps (metrics, traces; see
	// Observer). Defaults to nil: none.
	Observer Observer

	// AutoApply, when set, is the rule [Updater.AutoApply] asks about every
	// pending entry; the entries it accepts are applied with DecidedBy
	// AutoApplyActor. Integrity alarms (tag-moved, history-rewritten:
	// tracking.UpdateKind.Alarm) are never applied
	// automatically, whatever it says. Defaults to nil: nothing is applied
	// without an operator.
	AutoApply func(tracking.Update) bool
	// MinAge keeps an entry from being auto-applied until it has been known
	// for that long (a cooldown: a release that is pulled soon after it was
	// published never reaches a workspace). Requires AutoApply. Defaults
	// to 0.
	MinAge time.Duration
	// Soak is how long an entry's commit must have been applied in ring
	// n-1, without a rollback or a failed restart there, before
	// AutoApply takes it in ring n (see rollout.go). Ring 0 is not
	// gated; operators apply by hand in any ring. Defaults to 0: applied
	// in ring n-1 is enough.
	Soak time.Duration
}

// RestartPending is the RestartError an entry is recorded applied with
// while its workspace still has to be restarted. The restart clears it;
// if the process dies first, applying the entry again (from any replica)
// runs only the restart.
const RestartPending = "restart pending: the install is recorded, the workspace was not restarted yet"

// AutoApplyActor is recorded as DecidedBy on entries applied by
// [Updater.AutoApply].
const AutoApplyActor = "plugindrift/auto-apply"

// Updater applies and dismisses queue entries. It owns the apply protocol
// (see the package documentation); it is safe for concurrent use, by many
// goroutines and many processes sharing a store.
type Updater struct {
	store     storage.Store
	installer Installer
	restarter Restarter
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger
	rule      func(tracking.Update) bool
	minAge    time.Duration
	soak      time.Duration
	obs       Observer
}

// NewUpdater returns an Updater. store and installer are required;
// restarter may be nil for hosts that pick up plugins without a restart.
// cfg may be nil. Nonsense (a nil store or installer, a negative
// ApplyTimeout or MinAge, an ApplyTimeout over storage.MaxClaimTTL, a
// MinAge without an AutoApply rule) is an error wrapping
// tracking.ErrInvalidArgument.
func NewUpdater(store storage.Store, installer Installer, restarter Restarter, cfg *UpdaterConfig) (*Updater, error) {
	if store == nil || installer == nil {
		return nil, fmt.Errorf("drift: NewUpdater needs a store and an installer: %w", tracking.ErrInvalidArgument)
	}
	var c UpdaterConfig
	if cfg != nil {
		c = *cfg
	}
	switch {
	case c.ApplyTimeout < 0 || c.MinAge < 0 || c.Soak < 0:
		return nil, fmt.Errorf("drift: UpdaterConfig.ApplyTimeout, MinAge and Soak must not be negative: %w", tracking.ErrInvalidArgument)
	case c.ApplyTimeout > storage.MaxClaimTTL:
		return nil, fmt.Errorf("drift: UpdaterConfig.ApplyTimeout %s is longer than an apply claim may last (%s): a crashed apply would block its entry that long: %w", c.ApplyTimeout, storage.MaxClaimTTL, tracking.ErrInvalidArgument)
	case c.MinAge > 0 && c.AutoApply == nil:
		return nil, fmt.Errorf("drift: UpdaterConfig.MinAge is set but AutoApply is not: set the rule (e.g. drift.PatchOnly) or drop MinAge: %w", tracking.ErrInvalidArgument)
	}
	u := &Updater{store: store, installer: installer, restarter: restarter,
		timeout: c.ApplyTimeout, now: c.Now, log: c.Logger, rule: c.AutoApply, minAge: c.MinAge, soak: c.Soak, obs: observerOr(c.Observer)}
	if u.timeout == 0 {
		u.timeout = 10 * time.Minute
	}
	if u.now == nil {
		u.now = time.Now
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	return u, nil
}

// Limits on the free text an Updater records.
const (
	MaxActorLen  = 200
	MaxReasonLen = 1000
)

// checkText rejects text that cannot be stored byte for byte everywhere
// (tracking.TextProblem: too long, invalid UTF-8, control characters but,
// in reasons, newline and tab).
func checkText(what, s string, max int, multiline bool) error {
	if problem := tracking.TextProblem(s, max, multiline); problem != "" {
		return fmt.Errorf("drift: %s %s: %w", what, problem, tracking.ErrInvalidArgument)
	}
	return nil
}

// ValidateActor checks an actor before it is recorded as DecidedBy:
// non-empty, at most MaxActorLen bytes of UTF-8 without control
// characters. Apply and Dismiss apply it; hosts and handlers may call it
// earlier. Errors wrap tracking.ErrInvalidArgument.
func ValidateActor(actor string) error {
	if actor == "" {
		return fmt.Errorf("drift: actor is empty: say who decides: %w", tracking.ErrInvalidArgument)
	}
	return checkText("actor", actor, MaxActorLen, false)
}

func (u *Updater) clock() time.Time { return u.now().UTC().Truncate(time.Microsecond) }

// detached returns a context for recording an outcome that already
// happened: it survives the caller's cancellation, briefly.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// Apply installs entry id's reviewed commit and restarts its workspace.
//
//   - pending (or applying with an expired claim): claim, install ToSHA,
//     record install + applied in one transaction, restart. Returns the
//     applied entry.
//   - applied: returned unchanged, no second install; if its restart had
//     failed, only the restart is retried.
//   - applying with a live claim: tracking.ErrBusy.
//   - dismissed or superseded: tracking.ErrConflict. Missing:
//     tracking.ErrNotFound.
//
// An install failure puts the entry back to pending (Attempts+1,
// LastError) and returns an error matching ErrInstallFailed; a restart
// failure is recorded in RestartError and returns an error matching
// ErrRestartFailed (the entry stays applied). When this caller's claim was
// lost while it installed (see the package documentation), nothing is
// recorded and the error matches tracking.ErrClaimLost. actor is recorded
// as DecidedBy.
//
// An entry whose Verification blocks it (tracking.Verification.Blocks: its
// policy requires a verified signature and the commit is not verified) is
// refused with an error matching ErrUnverified, and nothing changes; see
// ApplyUnverified.
func (u *Updater) Apply(ctx context.Context, id int64, actor string) (tracking.Update, error) {
	ctx, end := u.obs.Apply(ctx, id)
	e, err := u.apply(ctx, id, actor, "")
	end(e, err)
	return e, err
}

// ApplyUnverified is Apply for an entry whose Verification blocks it: the
// operator reviewed the commit and applies it anyway. reason is required
// (at most MaxReasonLen bytes) and is recorded as the applied entry's
// Override, with actor as DecidedBy, so the event and the history say who
// overrode the policy and why. For an entry that is not blocked it is
// Apply, and nothing is recorded as overridden. Auto-apply never
// overrides.
func (u *Updater) ApplyUnverified(ctx context.Context, id int64, actor, reason string) (tracking.Update, error) {
	if reason == "" {
		return tracking.Update{}, fmt.Errorf("drift: apply update %d unverified: the reason is empty: say why the unverified commit may be installed: %w", id, tracking.ErrInvalidArgument)
	}
	if err := checkText("override reason", reason, MaxReasonLen, true); err != nil {
		return tracking.Update{}, err
	}
	ctx, end := u.obs.Apply(ctx, id)
	e, err := u.apply(ctx, id, actor, reason)
	end(e, err)
	return e, err
}

// unverifiedErr is the refusal of an entry whose verification blocks it.
func unverifiedErr(e tracking.Update) error {
	return fmt.Errorf("drift: apply update %d: %w: the commit is %s under a policy that requires a verified signature (%s): review it, then apply it with an override and a reason", e.ID, ErrUnverified, e.Verification.State, e.Verification.Detail)
}

func (u *Updater) apply(ctx context.Context, id int64, actor, override string) (tracking.Update, error) {
	if err := ValidateActor(actor); err != nil {
		return tracking.Update{}, err
	}
	if override == "" {
		// Read first, so that a refusal changes nothing: a claim handed
		// back would count as a failed attempt.
		cur, err := u.store.GetUpdate(ctx, id)
		if err != nil {
			return cur, fmt.Errorf("drift: apply update %d: %w", id, err)
		}
		if cur.Status.Open() && cur.Verification.Blocks() {
			return cur, unverifiedErr(cur)
		}
	}
	token := newClaimToken()
	e, err := u.store.ClaimUpdate(ctx, storage.ClaimUpdateParams{ID: id, Token: token, TTL: u.timeout})
	if err != nil {
		return e, fmt.Errorf("drift: apply update %d: %w", id, err)
	}
	if e.Status == tracking.StatusApplied {
		if e.RestartError == "" {
			return e, nil
		}
		return u.restart(ctx, e)
	}
	if !e.Verification.Blocks() {
		override = ""
	} else if override == "" {
		// A sweep made the entry blocked between the read and the claim.
		rctx, cancel := detached(ctx)
		defer cancel()
		err := unverifiedErr(e)
		if _, rerr := u.store.ReleaseClaim(rctx, storage.ReleaseClaimParams{ID: e.ID, Token: token, Message: err.Error(), At: u.clock()}); rerr != nil {
			u.logLost(ctx, e, "refused install", rerr)
		}
		return e, err
	}
	return u.applyClaimed(ctx, e, token, actor, override)
}

// applyClaimed installs entry e, which this caller claimed under token,
// records the outcome and restarts the workspace: the part of Apply after
// the claim, which Rollback shares.
//
// override, when set, is recorded as the entry's Override.
func (u *Updater) applyClaimed(ctx context.Context, e tracking.Update, token, actor, override string) (tracking.Update, error) {
	id := e.ID
	ictx, endInstall := u.obs.ApplyStep(ctx, StepInstall, e)
	err := u.install(ictx, e, token)
	endInstall(err)
	// The outcome is recorded even when the caller has gone away.
	rctx, rcancel := detached(ctx)
	defer rcancel()
	if err != nil {
		if errors.Is(err, tracking.ErrClaimLost) {
			return e, fmt.Errorf("drift: apply update %d: %w", id, err)
		}
		rctx, endRecord := u.obs.ApplyStep(rctx, StepRecord, e)
		u.log.WarnContext(ctx, "plugindrift: install failed", "update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "sha", e.ToSHA, "error", err)
		released, rerr := u.store.ReleaseClaim(rctx, storage.ReleaseClaimParams{ID: e.ID, Token: token, Message: err.Error(), At: u.clock()})
		endRecord(rerr)
		if rerr != nil {
			u.logLost(ctx, e, "failed install", rerr)
			return e, fmt.Errorf("drift: apply update %d: %w: %v (and recording the failure failed: %w)", id, ErrInstallFailed, err, rerr)
		}
		return released, fmt.Errorf("drift: apply update %d: %w: %v", id, ErrInstallFailed, err)
	}
	owed := ""
	if u.restarter != nil {
		owed = RestartPending // cleared once the restart succeeds
	}
	rctx, endRecord := u.obs.ApplyStep(rctx, StepRecord, e)
	done, err := u.store.CompleteApply(rctx, storage.CompleteApplyParams{ID: e.ID, Token: token, Actor: actor, At: u.clock(), RestartError: owed, Override: override})
	endRecord(err)
	if err != nil {
		u.logLost(ctx, e, "successful install", err)
		// The install happened but is not recorded. If the claim is still
		// ours it expires and a later Apply installs the same commit again
		// and records it.
		return e, fmt.Errorf("drift: apply update %d: installed %s but could not record it: %w", id, e.ToSHA, err)
	}
	if override != "" {
		u.log.WarnContext(ctx, "plugindrift: update applied although its signature is not verified", "update", done.ID, "workspace", done.WorkspaceID, "plugin", done.PluginName, "to", done.ToSHA, "verification", done.Verification.State.String(), "actor", actor, "reason", override)
	}
	u.log.InfoContext(ctx, "plugindrift: update applied", "update", done.ID, "workspace", done.WorkspaceID, "plugin", done.PluginName, "from", done.FromSHA, "to", done.ToSHA, "actor", actor)
	return u.restart(ctx, done)
}

// install runs the Installer for claimed entry e while keeping the claim
// alive: it is renewed every ApplyTimeout/3 for as long as the Installer
// runs, even past the Installer's own deadline, so that nobody else can
// take the entry over while an install is still in progress. If a renewal
// finds the claim lost, the install is cancelled and the returned error
// matches tracking.ErrClaimLost.
func (u *Updater) install(ctx context.Context, e tracking.Update, token string) error {
	installCtx, cancel := context.WithTimeoutCause(ctx, u.timeout, fmt.Errorf("drift: install of update %d timed out after %s", e.ID, u.timeout))
	defer cancel()
	lostCtx, lose := context.WithCancelCause(installCtx)
	defer lose(nil)

	finished := make(chan struct{})
	renewed := make(chan error, 1)
	go func() {
		renewed <- u.keepClaim(ctx, e, token, finished, lose)
	}()
	// The host's text is redacted once, here, for every log line and the
	// stored LastError.
	err := redact.Error(u.installer.Install(lostCtx, InstallRequest{
		UpdateID: e.ID, WorkspaceID: e.WorkspaceID, PluginName: e.PluginName,
		Source: e.Source, Ref: e.Ref, SHA: e.ToSHA, Version: e.ToVersion, FromSHA: e.FromSHA,
	}))
	close(finished)
	if lost := <-renewed; lost != nil {
		u.logLost(ctx, e, "install", lost)
		return lost
	}
	if err != nil && installCtx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", context.Cause(installCtx), err)
	}
	return err
}

// keepClaim renews the claim until finished is closed. It returns an
// error matching tracking.ErrClaimLost when the claim was taken away, after
// cancelling the install through lose.
func (u *Updater) keepClaim(ctx context.Context, e tracking.Update, token string, finished <-chan struct{}, lose context.CancelCauseFunc) error {
	t := time.NewTicker(max(u.timeout/3, time.Millisecond))
	defer t.Stop()
	overdue := time.After(u.timeout)
	for {
		select {
		case <-finished:
			return nil
		case <-overdue:
			u.log.WarnContext(ctx, "plugindrift: installer is still running past ApplyTimeout; the claim is kept until it returns",
				"update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "timeout", u.timeout)
			overdue = nil
			continue
		case <-t.C:
		}
		// Each renewal has its own bounded context: one shared by the
		// whole loop would run out during a long install, and every later
		// renewal would fail with it.
		rctx, cancel := detached(ctx)
		_, err := u.store.ExtendClaim(rctx, storage.ExtendClaimParams{ID: e.ID, Token: token, TTL: u.timeout})
		cancel()
		if errors.Is(err, tracking.ErrClaimLost) {
			lose(err)
			return err
		}
		if err != nil {
			// The store may come back before the claim runs out; the
			// fenced writes that follow refuse to land if it did not.
			u.log.WarnContext(ctx, "plugindrift: renew apply claim", "update", e.ID, "error", err)
		}
	}
}

// logLost records an install whose outcome could not be written because
// the claim was gone: it is accounted for here, in the log, since the
// store refuses it.
func (u *Updater) logLost(ctx context.Context, e tracking.Update, what string, err error) {
	if !errors.Is(err, tracking.ErrClaimLost) {
		return
	}
	u.log.ErrorContext(ctx, "plugindrift: apply claim lost; the outcome of this install was not recorded",
		"update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "sha", e.ToSHA, "outcome", what, "error", err)
}

// newClaimToken returns 128 random bits, hex-encoded.
func newClaimToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// restart runs the Restarter for an applied entry and records its outcome.
func (u *Updater) restart(ctx context.Context, e tracking.Update) (tracking.Update, error) {
	if u.restarter == nil {
		return e, nil
	}
	sctx, endRestart := u.obs.ApplyStep(ctx, StepRestart, e)
	err := redact.Error(u.restarter.Restart(sctx, e.WorkspaceID))
	endRestart(err)
	msg := ""
	if err != nil {
		msg = err.Error()
		if msg == "" {
			msg = "restart failed"
		}
	}
	if msg == e.RestartError {
		if err != nil {
			return e, fmt.Errorf("drift: restart workspace %s: %w: %v", e.WorkspaceID, ErrRestartFailed, err)
		}
		return e, nil
	}
	rctx, cancel := detached(ctx)
	defer cancel()
	rec, serr := u.store.SetRestartError(rctx, e.ID, msg)
	if serr != nil {
		return e, errors.Join(fmt.Errorf("drift: record restart of workspace %s: %w", e.WorkspaceID, serr), restartErr(e.WorkspaceID, err))
	}
	if err != nil {
		u.log.WarnContext(ctx, "plugindrift: restart failed", "update", e.ID, "workspace", e.WorkspaceID, "error", err)
		return rec, restartErr(e.WorkspaceID, err)
	}
	return rec, nil
}

func restartErr(workspace string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("drift: restart workspace %s: %w: %v", workspace, ErrRestartFailed, err)
}

// Dismiss declines entry id: pending → dismissed, with actor and reason
// recorded. A dismissed entry stays dismissed: a sweep does not queue the
// same change again, but it does queue a newer one. Dismissing a dismissed
// entry returns it unchanged; any other status returns
// tracking.ErrConflict; a missing one tracking.ErrNotFound. The reason may
// be empty, is at most MaxReasonLen bytes of UTF-8 text, and is stored
// byte for byte once any credential in it is masked (redact.String's rules:
// URL user info, token-shaped strings, password= values).
func (u *Updater) Dismiss(ctx context.Context, id int64, actor, reason string) (tracking.Update, error) {
	if err := ValidateActor(actor); err != nil {
		return tracking.Update{}, err
	}
	if err := checkText("reason", reason, MaxReasonLen, true); err != nil {
		return tracking.Update{}, err
	}
	// A credential pasted into a reason never reaches the store, the API
	// or the page.
	reason = redact.String(reason)
	e, err := u.store.DismissUpdate(ctx, storage.DismissUpdateParams{ID: id, Actor: actor, Reason: reason, At: u.clock()})
	if err != nil {
		return e, fmt.Errorf("drift: dismiss update %d: %w", id, err)
	}
	u.log.InfoContext(ctx, "plugindrift: update dismissed", "update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "actor", actor)
	return e, nil
}

// autoApplyPage is how many pending entries AutoApply reads at a time.
const autoApplyPage = 500

// AutoApply offers every pending entry to the UpdaterConfig.AutoApply rule
// and applies those it accepts that are at least MinAge old, never an
// integrity alarm (tag-moved, history-rewritten), a rollback, or an entry
// whose Verification blocks it. It returns how many were applied (a failed
// restart counts: the install happened). A failed install is logged and
// the others are still tried; an error is returned only when the store
// fails or ctx ends. Without a rule it does nothing. Hosts call it after a
// sweep, e.g. from SweeperConfig.AfterSweep.
func (u *Updater) AutoApply(ctx context.Context) (int, error) {
	if u.rule == nil {
		return 0, nil
	}
	applied := 0
	var after int64
	for {
		page, err := u.store.ListUpdates(ctx, storage.ListUpdatesParams{
			Statuses: []tracking.UpdateStatus{tracking.StatusPending}, AfterID: after, Limit: autoApplyPage,
		})
		if err != nil {
			return applied, fmt.Errorf("drift: auto-apply: list pending updates: %w", err)
		}
		for _, e := range page {
			after = e.ID
			if e.Kind.Alarm() || e.Kind == tracking.KindRollback || e.Verification.Blocks() || u.clock().Before(e.DetectedAt.Add(u.minAge)) || !u.rule(e) {
				continue
			}
			if gate, err := u.ringGate(ctx, e); err != nil {
				return applied, err
			} else if gate != nil {
				u.log.InfoContext(ctx, "plugindrift: auto-apply waits for the ring before", "update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "reason", gate.Code, "why", gate.Message)
				continue
			}
			if _, err := u.Apply(ctx, e.ID, AutoApplyActor); err != nil {
				if ctx.Err() != nil {
					return applied, ctx.Err()
				}
				u.log.WarnContext(ctx, "plugindrift: auto-apply failed", "update", e.ID, "error", err)
				if !errors.Is(err, ErrRestartFailed) {
					continue
				}
			}
			applied++
		}
		if len(page) < autoApplyPage {
			return applied, nil
		}
	}
}
