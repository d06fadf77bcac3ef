package drift

import (
	"context"
	"fmt"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Rollback installs an earlier commit, toSHA, of workspaceID's pluginName
// and holds the commit it rolls back from, so that the sweeper does not
// queue it for this install again (for tag:latest and semver:, nor any
// version not newer than it); a newer upstream is queued as usual.
//
// It goes through the same Installer, Restarter, claim and fencing as
// Apply: the store records a rollback entry (kind tracking.KindRollback)
// already claimed by this call, retires the install's open entries
// (tracking.ReasonRolledBack) and records the hold, all in one
// transaction; then the install, its record and the restart run as in
// Apply, with the same errors (ErrInstallFailed, ErrRestartFailed,
// tracking.ErrClaimLost) and the same Observer hooks (Apply of the
// rollback entry, then its steps). The hold stays when the install fails. It
// returns tracking.ErrNotFound for an unknown install,
// tracking.ErrConflict when toSHA is already installed and
// tracking.ErrBusy while an entry of the install is being applied. actor
// and reason are validated as for Dismiss and recorded on the entry and
// the hold.
//
// A rollback is not held to the trust policy: its entry is not-checked
// (the Sweeper judges only what upstream moved to), and the operator who
// names toSHA is the one vouching for it, as with ApplyUnverified.
func (u *Updater) Rollback(ctx context.Context, workspaceID, pluginName, toSHA, actor, reason string) (tracking.Update, tracking.Hold, error) {
	if err := ValidateActor(actor); err != nil {
		return tracking.Update{}, tracking.Hold{}, err
	}
	if err := checkText("reason", reason, MaxReasonLen, true); err != nil {
		return tracking.Update{}, tracking.Hold{}, err
	}
	reason = redact.String(reason)
	op := fmt.Sprintf("drift: rollback %s/%s to %s", redact.Quote(workspaceID), redact.Quote(pluginName), redact.Quote(toSHA))
	version, err := u.versionOf(ctx, workspaceID, pluginName, toSHA)
	if err != nil {
		return tracking.Update{}, tracking.Hold{}, fmt.Errorf("%s: %w", op, err)
	}
	token := newClaimToken()
	e, h, err := u.store.QueueRollback(ctx, storage.QueueRollbackParams{
		WorkspaceID: workspaceID, PluginName: pluginName, ToSHA: toSHA, ToVersion: version,
		Actor: actor, Reason: reason, Token: token, TTL: u.timeout, At: u.clock(),
	})
	if err != nil {
		return e, h, fmt.Errorf("%s: %w", op, err)
	}
	u.log.InfoContext(ctx, "plugindrift: rollback started", "update", e.ID, "workspace", e.WorkspaceID, "plugin", e.PluginName, "from", e.FromSHA, "to", e.ToSHA, "hold", h.ID, "actor", actor)
	// From here on a rollback is an apply of its entry, observed as one.
	ctx, end := u.obs.Apply(ctx, e.ID)
	done, err := u.applyClaimed(ctx, e, token, actor, "")
	end(done, err)
	return done, h, err
}

// versionOf returns the tag name the install had at sha, from its latest
// entries that name sha, or "" when none does.
func (u *Updater) versionOf(ctx context.Context, workspaceID, pluginName, sha string) (string, error) {
	if tracking.ValidateSHA(sha) != nil {
		return "", nil // QueueRollback refuses it with its error
	}
	page, err := u.store.ListUpdates(ctx, storage.ListUpdatesParams{WorkspaceID: workspaceID, PluginName: pluginName, Newest: true, Limit: 100})
	if err != nil {
		return "", err
	}
	for _, e := range page {
		switch sha {
		case e.ToSHA:
			return e.ToVersion, nil
		case e.FromSHA:
			return e.FromVersion, nil
		}
	}
	return "", nil
}

// ListHolds returns the holds of one install (or, with empty names, of
// all installs), active ones only when active is set, in the order they
// were made, at most storage.MaxLimit of them.
func (u *Updater) ListHolds(ctx context.Context, workspaceID, pluginName string, active bool) ([]tracking.Hold, error) {
	hs, err := u.store.ListHolds(ctx, storage.ListHoldsParams{WorkspaceID: workspaceID, PluginName: pluginName, Active: active, Limit: storage.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("drift: list holds: %w", err)
	}
	return hs, nil
}

// ReleaseHold releases hold id: the next check queues the commit it held
// again when upstream is still there. Releasing a released hold returns
// it unchanged; an unknown id is tracking.ErrNotFound.
func (u *Updater) ReleaseHold(ctx context.Context, id int64, actor string) (tracking.Hold, error) {
	if err := ValidateActor(actor); err != nil {
		return tracking.Hold{}, err
	}
	h, err := u.store.ReleaseHold(ctx, storage.ReleaseHoldParams{ID: id, Actor: actor, At: u.clock()})
	if err != nil {
		return h, fmt.Errorf("drift: release hold %d: %w", id, err)
	}
	u.log.InfoContext(ctx, "plugindrift: hold released", "hold", h.ID, "workspace", h.WorkspaceID, "plugin", h.PluginName, "sha", h.SHA, "actor", actor)
	return h, nil
}
