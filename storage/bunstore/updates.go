package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// GetUpdate implements storage.Store.
func (s *Store) GetUpdate(ctx context.Context, id int64) (tracking.Update, error) {
	u, err := s.getUpdate(ctx, s.pool, id)
	if err != nil {
		return tracking.Update{}, interpretError(ctx, fmt.Sprintf("get update %d", id), err)
	}
	return u, nil
}

func (s *Store) getUpdate(ctx context.Context, q querier, id int64) (tracking.Update, error) {
	return scanUpdate(q.queryRow(ctx, s.q.getUpdate, id))
}

// ListUpdates implements storage.Store.
func (s *Store) ListUpdates(ctx context.Context, p storage.ListUpdatesParams) ([]tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("bunstore: list updates: %w", err)
	}
	query, args := s.listUpdatesSQL(p)
	return queryAll(ctx, s, "list updates", scanUpdate, query, args...)
}

// CountOpenUpdates implements storage.Store.
func (s *Store) CountOpenUpdates(ctx context.Context) ([]storage.UpdateCount, error) {
	return queryAll(ctx, s, "count open updates", func(r scanner) (storage.UpdateCount, error) {
		var c storage.UpdateCount
		err := r.Scan(&c.Status, &c.Kind, &c.Count)
		return c, err
	}, s.q.countOpenUpdates)
}

// CountFailingUpstreams implements storage.Store.
func (s *Store) CountFailingUpstreams(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.queryRow(ctx, s.q.countFailingUpstreams).Scan(&n); err != nil {
		return 0, interpretError(ctx, "count failing upstreams", err)
	}
	return n, nil
}

// listUpdatesSQL builds ListUpdates' query: a status filter uses index
// updates_status, a workspace filter index updates_install.
func (s *Store) listUpdatesSQL(p storage.ListUpdatesParams) (string, []any) {
	var w where
	if len(p.Statuses) > 0 {
		whereIn(&w, "status", p.Statuses)
	}
	if p.WorkspaceID != "" {
		w.add("workspace_id = ?", p.WorkspaceID)
	}
	if p.PluginName != "" {
		w.add("plugin_name = ?", p.PluginName)
	}
	filterUpdates(&w, p)
	if p.ByDecision {
		if p.AfterID > 0 {
			w.add("(decided_at < ? OR (decided_at = ? AND id < ?))", micros(utc(p.AfterDecidedAt)), micros(utc(p.AfterDecidedAt)), p.AfterID)
		}
		limit := w.arg(p.Limit)
		return "SELECT " + updateCols + " FROM " + s.t.updates + w.String() + " ORDER BY decided_at DESC, id DESC LIMIT " + limit, w.args
	}
	order := "ASC"
	switch {
	case p.Newest && p.AfterID > 0:
		w.add("id < ?", p.AfterID)
		order = "DESC"
	case p.Newest:
		order = "DESC"
	default:
		w.add("id > ?", p.AfterID)
	}
	limit := w.arg(p.Limit)
	return "SELECT " + updateCols + " FROM " + s.t.updates + w.String() + " ORDER BY id " + order + " LIMIT " + limit, w.args
}

// ClaimUpdate implements storage.Store.
func (s *Store) ClaimUpdate(ctx context.Context, p storage.ClaimUpdateParams) (tracking.Update, error) {
	op := fmt.Sprintf("claim update %d", p.ID)
	if err := p.Validate(); err != nil {
		return tracking.Update{}, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	defer s.lockWriter()()
	// The conditional UPDATE is the atomic step. When it changes nothing,
	// the row says why; it may have become pending again in between (a
	// released claim), hence the second try.
	for range 3 {
		u, err := scanUpdate(s.pool.queryRow(ctx, s.q.claimUpdate, p.ID, p.TTL.Microseconds(), p.Token))
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return tracking.Update{}, interpretError(ctx, op, err)
		}
		u, err = s.getUpdate(ctx, s.pool, p.ID)
		if err != nil {
			return tracking.Update{}, interpretError(ctx, op, err)
		}
		switch u.Status {
		case tracking.StatusApplied:
			return u, nil
		case tracking.StatusApplying:
			return u, fmt.Errorf("bunstore: %s: claimed until %s: %w", op, u.ClaimedUntil.Format(time.RFC3339Nano), tracking.ErrBusy)
		case tracking.StatusDismissed, tracking.StatusSuperseded:
			return u, fmt.Errorf("bunstore: %s: it is %s: %w", op, u.Status, tracking.ErrConflict)
		}
	}
	return tracking.Update{}, fmt.Errorf("bunstore: %s: the entry keeps changing, try again: %w", op, tracking.ErrBusy)
}

// conditional runs an UPDATE … WHERE id = $1 AND … RETURNING statement.
// When no row matched it returns the current entry and an error wrapping
// sentinel (or tracking.ErrNotFound when there is no entry), unless ok
// accepts the current entry as the answer.
//
// When events is not nil, the statement runs in a transaction that also
// writes the events it returns for the changed entry.
func (s *Store) conditional(ctx context.Context, op, query string, id int64, ok func(tracking.Update) bool, sentinel error, events func(tracking.Update) []tracking.Event, args ...any) (tracking.Update, error) {
	args = append([]any{id}, args...)
	var (
		u       tracking.Update
		changed bool
	)
	if events == nil {
		unlock := s.lockWriter()
		var err error
		u, err = scanUpdate(s.pool.queryRow(ctx, query, args...))
		unlock()
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return tracking.Update{}, interpretError(ctx, op, err)
		}
		changed = err == nil
	} else {
		err := s.transact(ctx, op, func(tx *sql.Tx) error {
			var err error
			u, err = scanUpdate(tx.QueryRowContext(ctx, query, args...))
			if changed = err == nil; !changed {
				if errors.Is(err, sql.ErrNoRows) {
					return nil
				}
				return err
			}
			return s.insertEvents(ctx, tx, events(u))
		})
		if err != nil {
			return tracking.Update{}, err
		}
	}
	if changed {
		return u, nil
	}
	u, err := s.getUpdate(ctx, s.pool, id)
	if err != nil {
		return tracking.Update{}, interpretError(ctx, op, err)
	}
	if ok != nil && ok(u) {
		return u, nil
	}
	return u, fmt.Errorf("bunstore: %s: it is %s: %w", op, u.Status, sentinel)
}

// ExtendClaim implements storage.Store.
func (s *Store) ExtendClaim(ctx context.Context, p storage.ExtendClaimParams) (tracking.Update, error) {
	op := fmt.Sprintf("extend claim on update %d", p.ID)
	if err := p.Validate(); err != nil {
		return tracking.Update{}, fmt.Errorf("bunstore: %s: %w", op, err)
	}
	return s.conditional(ctx, op, s.q.extendClaim, p.ID, nil, tracking.ErrClaimLost, nil,
		p.Token, p.TTL.Microseconds())
}

// CompleteApply implements storage.Store.
func (s *Store) CompleteApply(ctx context.Context, p storage.CompleteApplyParams) (tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, err
	}
	op := fmt.Sprintf("complete update %d", p.ID)
	at := micros(utc(p.At))
	var out tracking.Update
	var outErr error
	lost := func(tx *sql.Tx) error {
		cur, err := s.getUpdate(ctx, inTx{tx}, p.ID)
		if err != nil {
			return err
		}
		var token string
		if err := tx.QueryRowContext(ctx, s.q.getClaimToken, p.ID).Scan(&token); err != nil {
			return err
		}
		out = cur
		if cur.Status == tracking.StatusApplied && token == p.Token {
			return nil // a retry of this holder's own completion
		}
		outErr = fmt.Errorf("bunstore: %s: it is %s under another claim or none: %w", op, cur.Status, tracking.ErrClaimLost)
		return nil
	}
	err := s.transact(ctx, op, func(tx *sql.Tx) error {
		out, outErr = tracking.Update{}, nil
		cur, err := s.getUpdate(ctx, inTx{tx}, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != tracking.StatusApplying {
			return lost(tx)
		}
		// The entry's key is its install's key (changing an install's key
		// supersedes its open entries), so this serialises with Reconcile
		// and install changes as described under Locking.
		if err := s.lockUpstreams(ctx, tx, []lockKey{{source: cur.Source.String(), ref: cur.Ref.String()}}); err != nil {
			return err
		}
		u, err := scanUpdate(tx.QueryRowContext(ctx, s.q.completeUpdate, p.ID, at, p.Actor, p.Token, p.RestartError, p.Override))
		if errors.Is(err, sql.ErrNoRows) {
			// Taken over, released or superseded since it was read.
			return lost(tx)
		}
		if err != nil {
			return err
		}
		n, err := rowsAffected(tx.ExecContext(ctx, s.q.completeInstall, u.WorkspaceID, u.PluginName, u.ToSHA, u.ToVersion, at))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("install %s/%s no longer exists: %w", u.WorkspaceID, u.PluginName, tracking.ErrConflict)
		}
		out = u
		return s.insertEvents(ctx, tx, tracking.UpdateEvents(tracking.EventUpdateApplied, u, u.DecidedAt))
	})
	if err != nil {
		return tracking.Update{}, err
	}
	return out, outErr
}

// ReleaseClaim implements storage.Store.
func (s *Store) ReleaseClaim(ctx context.Context, p storage.ReleaseClaimParams) (tracking.Update, error) {
	at := utc(p.At)
	events := func(u tracking.Update) []tracking.Event {
		return tracking.UpdateEvents(tracking.EventUpdateApplyFailed, u, at)
	}
	return s.conditional(ctx, fmt.Sprintf("release claim on update %d", p.ID), s.q.releaseClaim, p.ID, nil, tracking.ErrClaimLost, events,
		p.Message, p.Token)
}

// SetRestartError implements storage.Store.
func (s *Store) SetRestartError(ctx context.Context, id int64, message string) (tracking.Update, error) {
	// SetRestartError takes no time: the event is dated by the apply.
	events := func(u tracking.Update) []tracking.Event {
		if message == "" {
			return nil
		}
		return tracking.UpdateEvents(tracking.EventUpdateRestartFailed, u, u.DecidedAt)
	}
	return s.conditional(ctx, fmt.Sprintf("set restart error of update %d", id), s.q.setRestartError, id, nil, tracking.ErrConflict, events, message)
}

// DismissUpdate implements storage.Store.
func (s *Store) DismissUpdate(ctx context.Context, p storage.DismissUpdateParams) (tracking.Update, error) {
	dismissed := func(u tracking.Update) bool { return u.Status == tracking.StatusDismissed }
	events := func(u tracking.Update) []tracking.Event {
		return tracking.UpdateEvents(tracking.EventUpdateDismissed, u, u.DecidedAt)
	}
	return s.conditional(ctx, fmt.Sprintf("dismiss update %d", p.ID), s.q.dismissUpdate, p.ID, dismissed, tracking.ErrConflict, events,
		micros(utc(p.At)), p.Actor, p.Reason)
}

// AcquireLease implements storage.Store. Name and Holder must not be empty
// and TTL must be positive, else the error wraps
// tracking.ErrInvalidArgument.
func (s *Store) AcquireLease(ctx context.Context, p storage.LeaseParams) (bool, error) {
	if err := p.Validate(); err != nil {
		return false, fmt.Errorf("bunstore: acquire lease: %w", err)
	}
	defer s.lockWriter()()
	var holder string
	err := s.pool.queryRow(ctx, s.q.acquireLease, p.Name, p.Holder, p.TTL.Microseconds()).Scan(&holder)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, interpretError(ctx, "acquire lease "+p.Name, err)
	}
	return true, nil
}

// ReleaseLease implements storage.Store.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	defer s.lockWriter()()
	_, err := s.pool.exec(ctx, s.q.releaseLease, name, holder)
	return interpretError(ctx, "release lease "+name, err)
}
