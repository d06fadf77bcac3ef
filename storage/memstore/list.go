package memstore

import (
	"cmp"
	"slices"
	"strings"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// updateMatches holds u to the filters of p that came with the triage
// page: workspace prefix, kinds and source.
func updateMatches(p storage.ListUpdatesParams, u *tracking.Update) bool {
	return strings.HasPrefix(u.WorkspaceID, p.WorkspacePrefix) &&
		(len(p.Kinds) == 0 || slices.Contains(p.Kinds, u.Kind)) &&
		(!p.Source.IsValid() || u.Source == p.Source)
}

// installMatches holds an install to the prefix and plugin filters of p.
func installMatches(p storage.ListInstallsParams, workspace, plugin string) bool {
	return strings.HasPrefix(workspace, p.WorkspacePrefix) && (p.PluginName == "" || plugin == p.PluginName)
}

// byDecision lists the entries match keeps by decision time, newest
// first, then by descending id, strictly after p's cursor.
func (s *Store) byDecision(p storage.ListUpdatesParams, match func(*tracking.Update) bool) []tracking.Update {
	var out []tracking.Update
	after := ts(p.AfterDecidedAt)
	for _, u := range s.updates {
		if !match(u) {
			continue
		}
		if p.AfterID > 0 && (u.DecidedAt.After(after) || u.DecidedAt.Equal(after) && u.ID >= p.AfterID) {
			continue
		}
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b tracking.Update) int {
		return cmp.Or(b.DecidedAt.Compare(a.DecidedAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(len(out), p.Limit)]
}
