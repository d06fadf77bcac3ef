package memstore

import (
	"context"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// RestoreUpdate implements storage.Store.
func (s *Store) RestoreUpdate(ctx context.Context, p storage.RestoreUpdateParams) (tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, err
	}
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		switch u.Status {
		case tracking.StatusPending:
			return nil
		case tracking.StatusDismissed:
		default:
			return notIn("restore", u, tracking.StatusDismissed)
		}
		k := installKey{u.WorkspaceID, u.PluginName}
		in, installed := s.installs[k]
		up := s.upstreams[upstreamKeyOf(tracking.UpstreamKey{Source: u.Source, Ref: u.Ref})]
		_, open := s.open[k]
		if !installed || up == nil || open || !storage.RestoreCurrent(*u, in, *up) {
			return notCurrent(u)
		}
		if s.held(k, storage.RestoreReconcileParams(*u)) {
			return fmt.Errorf("memstore: restore update %d: a hold keeps its commit out of the queue (release the hold first): %w", u.ID, tracking.ErrConflict)
		}
		u.Status = tracking.StatusPending
		u.DecidedAt, u.DecidedBy, u.Reason = time.Time{}, "", ""
		u.LastSeenAt = ts(p.At)
		s.open[k] = u.ID
		s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateRestored, *u, u.LastSeenAt)...)
		return nil
	})
}

func notCurrent(u *tracking.Update) error {
	return fmt.Errorf("memstore: restore update %d: its change is no longer current (the install or upstream moved on, or another entry is open): %w", u.ID, tracking.ErrConflict)
}
