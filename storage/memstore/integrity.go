package memstore

import (
	"context"
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
