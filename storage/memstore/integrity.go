package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// driftKind is the kind of an entry queued from commit from by p.
func driftKind(p storage.ReconcileParams, from string) tracking.UpdateKind {
	if slices.Contains(p.Rewritten, from) {
		return tracking.KindHistoryRewritten
	}
	return p.Key.Ref.DriftKind()
}

// InstalledSHAs implements storage.Store.
func (s *Store) InstalledSHAs(ctx context.Context, key tracking.UpstreamKey) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for k := range s.byUpstream[upstreamKeyOf(key)] {
		seen[s.installs[k].InstalledSHA] = true
	}
	shas := slices.Sorted(maps.Keys(seen))
	return shas[:min(len(shas), storage.MaxLimit)], nil
}

// held reports whether an active hold of k keeps p's commit out of the
// queue (see storage.Store.QueueRollback).
func (s *Store) held(k installKey, p storage.ReconcileParams) bool {
	for _, h := range s.holdList {
		if h.WorkspaceID == k.workspace && h.PluginName == k.plugin && storage.HoldCovers(*h, p) {
			return true
		}
	}
	return false
}

// QueueRollback implements storage.Store.
func (s *Store) QueueRollback(ctx context.Context, p storage.QueueRollbackParams) (tracking.Update, tracking.Hold, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return tracking.Update{}, tracking.Hold{}, err
	}
	defer unlock()
	k := installKey{p.WorkspaceID, p.PluginName}
	in, ok := s.installs[k]
	if !ok {
		return tracking.Update{}, tracking.Hold{}, fmt.Errorf("memstore: rollback %s/%s: no such install: %w", p.WorkspaceID, p.PluginName, tracking.ErrNotFound)
	}
	if in.InstalledSHA == p.ToSHA {
		return tracking.Update{}, tracking.Hold{}, fmt.Errorf("memstore: rollback %s/%s: %s is already installed: %w", p.WorkspaceID, p.PluginName, p.ToSHA, tracking.ErrConflict)
	}
	at := ts(p.At)
	if id, ok := s.open[k]; ok {
		open := s.updates[id-1]
		if open.Status == tracking.StatusApplying && open.ClaimedUntil.After(storeNow()) {
			return tracking.Update{}, tracking.Hold{}, fmt.Errorf("memstore: rollback %s/%s: update %d is being applied: %w", p.WorkspaceID, p.PluginName, id, tracking.ErrBusy)
		}
		s.supersede(open, tracking.ReasonRolledBack, at)
	}
	u := &tracking.Update{
		ID: int64(len(s.updates) + 1), WorkspaceID: k.workspace, PluginName: k.plugin,
		Source: in.Source, Ref: in.Ref, FromSHA: in.InstalledSHA, ToSHA: p.ToSHA,
		FromVersion: in.InstalledVersion, ToVersion: p.ToVersion,
		Kind: tracking.KindRollback, Status: tracking.StatusApplying,
		DetectedAt: at, LastSeenAt: at, ClaimedUntil: storeNow().Add(p.TTL),
	}
	s.updates = append(s.updates, u)
	s.open[k] = u.ID
	s.tokens[u.ID] = p.Token
	s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateRolledBack, *u, at)...)
	for _, h := range s.holdList {
		if h.Active() && h.WorkspaceID == k.workspace && h.PluginName == k.plugin && h.SHA == in.InstalledSHA {
			return *u, *h, nil
		}
	}
	h := &tracking.Hold{
		ID: int64(len(s.holdList) + 1), WorkspaceID: k.workspace, PluginName: k.plugin,
		SHA: in.InstalledSHA, Version: in.InstalledVersion,
		CreatedAt: at, CreatedBy: p.Actor, Reason: p.Reason,
	}
	s.holdList = append(s.holdList, h)
	return *u, *h, nil
}

// ListHolds implements storage.Store.
func (s *Store) ListHolds(ctx context.Context, p storage.ListHoldsParams) ([]tracking.Hold, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Hold
	for _, h := range s.holdList {
		if h.ID <= p.AfterID || p.Active && !h.Active() ||
			p.WorkspaceID != "" && h.WorkspaceID != p.WorkspaceID || p.PluginName != "" && h.PluginName != p.PluginName {
			continue
		}
		if out = append(out, *h); len(out) == p.Limit {
			break
		}
	}
	return out, nil
}

// ReleaseHold implements storage.Store.
func (s *Store) ReleaseHold(ctx context.Context, p storage.ReleaseHoldParams) (tracking.Hold, error) {
	if err := ctx.Err(); err != nil {
		return tracking.Hold{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID < 1 || p.ID > int64(len(s.holdList)) {
		return tracking.Hold{}, fmt.Errorf("memstore: hold %d: %w", p.ID, tracking.ErrNotFound)
	}
	h := s.holdList[p.ID-1]
	if h.Active() {
		h.ReleasedAt, h.ReleasedBy = ts(p.At), p.Actor
	}
	return *h, nil
}

// SetInstallRing implements storage.Store.
func (s *Store) SetInstallRing(ctx context.Context, workspaceID, pluginName string, ring int) (tracking.Install, error) {
	if err := tracking.ValidateRing(ring); err != nil {
		return tracking.Install{}, err
	}
	if err := ctx.Err(); err != nil {
		return tracking.Install{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := installKey{workspaceID, pluginName}
	in, ok := s.installs[k]
	if !ok {
		return tracking.Install{}, fmt.Errorf("memstore: set ring of %s/%s: %w", workspaceID, pluginName, tracking.ErrNotFound)
	}
	in.Ring = ring
	s.installs[k] = in
	return in, nil
}

// RingEvidence implements storage.Store. A scan is fine for a fake; the
// SQL backends use indexes.
func (s *Store) RingEvidence(ctx context.Context, p storage.RingEvidenceParams) (storage.RingEvidence, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return storage.RingEvidence{}, err
	}
	defer unlock()
	var ev storage.RingEvidence
	for _, u := range s.updates {
		in, ok := s.installs[installKey{u.WorkspaceID, u.PluginName}]
		if !ok || in.Ring != p.Ring {
			continue
		}
		switch {
		case u.Kind == tracking.KindRollback:
			if u.FromSHA == p.SHA {
				ev.Rollbacks++
			}
		case u.ToSHA == p.SHA && u.Status == tracking.StatusApplied:
			if ev.FirstApplied.IsZero() || u.DecidedAt.Before(ev.FirstApplied) {
				ev.FirstApplied = u.DecidedAt
			}
			if u.RestartError != "" {
				ev.FailedRestarts++
			}
		}
	}
	return ev, nil
}
