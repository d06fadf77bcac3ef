package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// restoreUpdateSQL moves a dismissed entry back to pending when its change
// is still current (storage.RestoreCurrent, written here as SQL) and no
// active hold covers it (Reconcile's notHeld, with the entry's ToSHA and
// $3 its version key): $1 id, $2 now (µs). The partial unique index on
// open entries refuses it when another entry is open for the install.
var restoreUpdateSQL = `UPDATE {updates} SET status = 'pending', decided_at = NULL, decided_by = '', reason = '', last_seen_at = $2
WHERE id = $1 AND status = 'dismissed'
	AND EXISTS (SELECT 1 FROM {installs} AS i
		WHERE i.workspace_id = {updates}.workspace_id AND i.plugin_name = {updates}.plugin_name
			AND i.source_raw = {updates}.source_raw AND i.tracked_ref = {updates}.tracked_ref
			AND i.installed_sha = {updates}.from_sha
			AND ` + strings.NewReplacer("$3", "{updates}.to_sha", "$8", "$3").Replace(notHeld) + `)
	AND EXISTS (SELECT 1 FROM {upstreams} AS p
		WHERE p.source_raw = {updates}.source_raw AND p.tracked_ref = {updates}.tracked_ref
			AND p.last_sha = {updates}.to_sha)
RETURNING ` + updateCols

// errNotRestored rolls back a restore that changed no row.
var errNotRestored = errors.New("bunstore: restore changed nothing")

// RestoreUpdate implements storage.Store.
func (s *Store) RestoreUpdate(ctx context.Context, p storage.RestoreUpdateParams) (tracking.Update, error) {
	op := fmt.Sprintf("restore update %d", p.ID)
	if err := p.Validate(); err != nil {
		return tracking.Update{}, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	var (
		u       tracking.Update
		refused bool
	)
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		before, err := scanUpdate(tx.QueryRowContext(ctx, s.q.getUpdate, p.ID))
		if err != nil {
			return err // missing: tracking.ErrNotFound
		}
		versionKey := storage.RestoreReconcileParams(before).ReconcileVersionKey()
		u, err = scanUpdate(tx.QueryRowContext(ctx, s.q.restoreUpdate, p.ID, micros(utc(p.At)), versionKey))
		if errors.Is(err, sql.ErrNoRows) || (err != nil && isUniqueViolation(err)) {
			refused = true
			return errNotRestored // roll back
		}
		if err != nil {
			return err
		}
		return s.insertEvents(ctx, tx, tracking.UpdateEvents(tracking.EventUpdateRestored, u, u.LastSeenAt))
	})
	if err == nil {
		return u, nil
	}
	if !refused {
		return tracking.Update{}, err
	}
	u, err = s.getUpdate(ctx, s.pool, p.ID)
	if err != nil {
		return tracking.Update{}, interpretError(ctx, op, err)
	}
	switch {
	case u.Status == tracking.StatusPending:
		return u, nil
	case u.Status != tracking.StatusDismissed:
		return u, fmt.Errorf("bunstore: %s: it is %s, not dismissed: %w", op, u.Status, tracking.ErrConflict)
	}
	return u, fmt.Errorf("bunstore: %s: its change is no longer current (the install or upstream moved on, another entry is open, or a hold keeps its commit out of the queue): %w", op, tracking.ErrConflict)
}
