package storage

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// RestoreUpdateParams restores one dismissed entry to pending.
type RestoreUpdateParams struct {
	ID int64
	// At is when the entry is restored: its LastSeenAt.
	At time.Time
}

// Validate checks the id.
func (p RestoreUpdateParams) Validate() error {
	if p.ID < 1 {
		return fmt.Errorf("storage: update id %d: want 1 or more: %w", p.ID, tracking.ErrInvalidArgument)
	}
	return nil
}

// RestoreCurrent is the rule RestoreUpdate holds a dismissed entry to,
// the one place it is written: its change is still current when the
// install of its (workspace, plugin) still exists with the entry's source
// and ref at FromSHA, and the upstream was last resolved to ToSHA.
func RestoreCurrent(u tracking.Update, in tracking.Install, up tracking.Upstream) bool {
	return in.Source == u.Source && in.Ref == u.Ref && in.InstalledSHA == u.FromSHA && up.LastSHA == u.ToSHA
}

// RestoreReconcileParams is the resolution a restore of u would queue
// again, for the hold rule (HoldCovers) that Reconcile applies.
func RestoreReconcileParams(u tracking.Update) ReconcileParams {
	return ReconcileParams{Key: tracking.UpstreamKey{Source: u.Source, Ref: u.Ref}, SHA: u.ToSHA, Version: u.ToVersion}
}
