// Package memstore is an in-memory storage.Store: the fake for tests and
// examples. It passes the same conformance suite (storetest) as the SQL
// backends, so a test written against it means the same thing there.
//
// Everything lives in one process and is lost when it exits; one mutex
// serialises all calls, which makes every method trivially atomic.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Store is an in-memory storage.Store. The zero value is not usable; call
// New.
type Store struct {
	mu sync.Mutex

	installs map[installKey]tracking.Install
	// byUpstream indexes tracked installs by upstream key, so Reconcile
	// visits only the installs of one upstream.
	byUpstream map[string]map[installKey]struct{}

	upstreams      map[string]*tracking.Upstream
	nextUpstreamID int64

	updates []*tracking.Update // updates[i].ID == i+1
	open    map[installKey]int64
	// tokens holds each entry's last claim token (kept after the claim
	// ends, so a holder's retried completion is recognised).
	tokens map[int64]string
	leases map[string]lease

	push     pushState        // check requests and delivery ids; see push.go
	outbox   outbox           // events and their delivery (events.go)
	holdList []*tracking.Hold // holdList[i].ID == i+1; see integrity.go
	sweeps   sweepLog         // sweep records (sweeps.go)
}

var _ storage.Store = (*Store)(nil)

type installKey struct{ workspace, plugin string }

type lease struct {
	holder  string
	expires time.Time
}

// New returns an empty store.
func New() *Store {
	return &Store{
		installs:   map[installKey]tracking.Install{},
		byUpstream: map[string]map[installKey]struct{}{},
		upstreams:  map[string]*tracking.Upstream{},
		open:       map[installKey]int64{},
		tokens:     map[int64]string{},
		leases:     map[string]lease{},
		outbox:     newOutbox(),
	}
}

func upstreamKeyOf(k tracking.UpstreamKey) string {
	return k.Source.String() + "\x00" + k.Ref.String()
}

func keyOfInstall(in tracking.Install) string {
	return upstreamKeyOf(tracking.UpstreamKey{Source: in.Source, Ref: in.Ref})
}

// storeNow is the store's own clock: lease and claim expiry are judged by
// it, as a database server's clock judges them, never by a caller's.
func storeNow() time.Time { return ts(time.Now()) }

func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// UpsertInstall implements storage.Store.
func (s *Store) UpsertInstall(ctx context.Context, in tracking.Install) (tracking.Install, error) {
	if err := in.Validate(); err != nil {
		return tracking.Install{}, fmt.Errorf("memstore: upsert install: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return tracking.Install{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := installKey{in.WorkspaceID, in.PluginName}
	now := ts(in.UpdatedAt)
	in.UpdatedAt = now
	prev, existed := s.installs[k]
	in.InstalledAt = now
	if existed {
		in.Ring = prev.Ring // changed only by SetInstallRing
		if prev.InstalledSHA == in.InstalledSHA {
			in.InstalledAt = prev.InstalledAt
		}
		s.unindex(k, prev)
		changed := prev.InstalledSHA != in.InstalledSHA || prev.Source != in.Source || prev.Ref != in.Ref
		if id, ok := s.open[k]; ok && changed {
			u := s.updates[id-1]
			reason := tracking.ReasonReinstalled
			if u.ToSHA == in.InstalledSHA {
				reason = tracking.ReasonUpToDate
			}
			s.supersede(u, reason, now)
		}
	}
	s.installs[k] = in
	if in.Tracked() {
		uk := keyOfInstall(in)
		set := s.byUpstream[uk]
		if set == nil {
			set = map[installKey]struct{}{}
			s.byUpstream[uk] = set
		}
		set[k] = struct{}{}
		s.upstream(tracking.UpstreamKey{Source: in.Source, Ref: in.Ref})
	}
	return in, nil
}

func (s *Store) unindex(k installKey, in tracking.Install) {
	uk := keyOfInstall(in)
	if set := s.byUpstream[uk]; set != nil {
		delete(set, k)
		if len(set) == 0 {
			delete(s.byUpstream, uk)
		}
	}
}

// upstream returns the row for key, creating it.
func (s *Store) upstream(key tracking.UpstreamKey) *tracking.Upstream {
	uk := upstreamKeyOf(key)
	u := s.upstreams[uk]
	if u == nil {
		s.nextUpstreamID++
		u = &tracking.Upstream{ID: s.nextUpstreamID, Key: key}
		s.upstreams[uk] = u
	}
	return u
}

func (s *Store) supersede(u *tracking.Update, reason string, at time.Time) {
	u.Status = tracking.StatusSuperseded
	u.Reason = reason
	u.DecidedAt = at
	u.ClaimedUntil = time.Time{}
	delete(s.open, installKey{u.WorkspaceID, u.PluginName})
	s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateSuperseded, *u, at)...)
}

// DeleteInstall implements storage.Store.
func (s *Store) DeleteInstall(ctx context.Context, workspaceID, pluginName string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := installKey{workspaceID, pluginName}
	prev, ok := s.installs[k]
	if !ok {
		return fmt.Errorf("memstore: install %s/%s: %w", workspaceID, pluginName, tracking.ErrNotFound)
	}
	s.unindex(k, prev)
	delete(s.installs, k)
	if id, ok := s.open[k]; ok {
		s.supersede(s.updates[id-1], tracking.ReasonUninstalled, ts(at))
	}
	return nil
}

// GetInstall implements storage.Store.
func (s *Store) GetInstall(ctx context.Context, workspaceID, pluginName string) (tracking.Install, error) {
	if err := ctx.Err(); err != nil {
		return tracking.Install{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.installs[installKey{workspaceID, pluginName}]
	if !ok {
		return tracking.Install{}, fmt.Errorf("memstore: install %s/%s: %w", workspaceID, pluginName, tracking.ErrNotFound)
	}
	return in, nil
}

// ListInstalls implements storage.Store.
func (s *Store) ListInstalls(ctx context.Context, p storage.ListInstallsParams) ([]tracking.Install, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Install
	for k, in := range s.installs {
		if p.WorkspaceID != "" && k.workspace != p.WorkspaceID || !installMatches(p, k.workspace, k.plugin) {
			continue
		}
		if cmp.Or(cmp.Compare(k.workspace, p.AfterWorkspaceID), cmp.Compare(k.plugin, p.AfterPluginName)) <= 0 {
			continue
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b tracking.Install) int {
		return cmp.Or(cmp.Compare(a.WorkspaceID, b.WorkspaceID), cmp.Compare(a.PluginName, b.PluginName))
	})
	return out[:min(len(out), p.Limit)], nil
}

// ListUpstreams implements storage.Store.
func (s *Store) ListUpstreams(ctx context.Context, p storage.ListUpstreamsParams) ([]tracking.Upstream, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Upstream
	for uk, u := range s.upstreams {
		if u.ID > p.AfterID && len(s.byUpstream[uk]) > 0 && (!p.Failing || u.ConsecutiveFailures > 0) {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b tracking.Upstream) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(len(out), p.Limit)], nil
}

// CountFailingUpstreams implements storage.Store.
func (s *Store) CountFailingUpstreams(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for uk, u := range s.upstreams {
		if u.ConsecutiveFailures > 0 && len(s.byUpstream[uk]) > 0 {
			n++
		}
	}
	return n, nil
}

// GetUpstream implements storage.Store.
func (s *Store) GetUpstream(ctx context.Context, key tracking.UpstreamKey) (tracking.Upstream, error) {
	if err := ctx.Err(); err != nil {
		return tracking.Upstream{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.upstreams[upstreamKeyOf(key)]
	if !ok {
		return tracking.Upstream{}, fmt.Errorf("memstore: upstream %s: %w", key, tracking.ErrNotFound)
	}
	return *u, nil
}

// Reconcile implements storage.Store.
func (s *Store) Reconcile(ctx context.Context, p storage.ReconcileParams) (storage.ReconcileResult, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return storage.ReconcileResult{}, err
	}
	defer unlock()
	now := ts(p.Now)
	clock := storeNow() // judges claims; now dates what is written
	var res storage.ReconcileResult
	// In (workspace, plugin) order, so that entry IDs do not depend on map
	// iteration.
	keys := slices.SortedFunc(maps.Keys(s.byUpstream[upstreamKeyOf(p.Key)]), func(a, b installKey) int {
		return cmp.Or(cmp.Compare(a.workspace, b.workspace), cmp.Compare(a.plugin, b.plugin))
	})
	for _, k := range keys {
		res.Installs++
		in := s.installs[k]
		var open *tracking.Update
		if id, ok := s.open[k]; ok {
			open = s.updates[id-1]
			if open.Status == tracking.StatusApplying && open.ClaimedUntil.After(clock) {
				continue // live claim: not taken away from its holder
			}
		}
		if in.InstalledSHA == p.SHA {
			if open != nil {
				s.supersede(open, tracking.ReasonUpToDate, now)
				res.Superseded++
			}
			continue
		}
		if open != nil {
			if open.ToSHA == p.SHA {
				open.LastSeenAt = now
				open.Verification = p.Verification
				continue
			}
			s.supersede(open, tracking.ReasonNewerUpstream, now)
			res.Superseded++
		}
		if s.dismissed(k, in.InstalledSHA, p.SHA) || s.held(k, p) {
			continue
		}
		u := &tracking.Update{
			ID:           int64(len(s.updates) + 1),
			WorkspaceID:  k.workspace,
			PluginName:   k.plugin,
			Source:       in.Source,
			Ref:          in.Ref,
			FromSHA:      in.InstalledSHA,
			ToSHA:        p.SHA,
			FromVersion:  in.InstalledVersion,
			ToVersion:    p.Version,
			Kind:         driftKind(p, in.InstalledSHA),
			Status:       tracking.StatusPending,
			DetectedAt:   now,
			LastSeenAt:   now,
			Verification: p.Verification,
		}
		s.updates = append(s.updates, u)
		s.open[k] = u.ID
		s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateQueued, *u, now)...)
		res.Queued++
	}
	up := s.upstream(p.Key)
	failures := up.ConsecutiveFailures
	up.LastSHA, up.LastVersion, up.Validator = p.SHA, p.Version, p.Validator
	up.Verification = p.Verification
	up.LastCheckedAt = now
	up.LastError, up.ConsecutiveFailures = "", 0
	s.healthEvent(up, failures, now)
	return res, nil
}

// dismissed reports whether a dismissed entry from→to exists for k. A scan
// is fine for a fake; the SQL backends use an index.
func (s *Store) dismissed(k installKey, from, to string) bool {
	for _, u := range s.updates {
		if u.Status == tracking.StatusDismissed && u.WorkspaceID == k.workspace && u.PluginName == k.plugin && u.FromSHA == from && u.ToSHA == to {
			return true
		}
	}
	return false
}

// RecordUpstreamFailure implements storage.Store.
func (s *Store) RecordUpstreamFailure(ctx context.Context, key tracking.UpstreamKey, message string, at time.Time) error {
	if err := storage.RequireTracked(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up := s.upstream(key)
	up.LastError = message
	up.ConsecutiveFailures++
	up.LastCheckedAt = ts(at)
	s.healthEvent(up, up.ConsecutiveFailures-1, up.LastCheckedAt)
	return nil
}

// lockValid is the prologue of a call that takes params: it checks p
// and ctx, then takes the store's lock, so bad input changes nothing.
// The caller defers the returned unlock.
func (s *Store) lockValid(ctx context.Context, p interface{ Validate() error }) (unlock func(), err error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	return s.mu.Unlock, nil
}

func (s *Store) get(id int64) (*tracking.Update, error) {
	if id < 1 || id > int64(len(s.updates)) {
		return nil, fmt.Errorf("memstore: update %d: %w", id, tracking.ErrNotFound)
	}
	return s.updates[id-1], nil
}

// GetUpdate implements storage.Store.
func (s *Store) GetUpdate(ctx context.Context, id int64) (tracking.Update, error) {
	if err := ctx.Err(); err != nil {
		return tracking.Update{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.get(id)
	if err != nil {
		return tracking.Update{}, err
	}
	return *u, nil
}

// ListUpdates implements storage.Store.
func (s *Store) ListUpdates(ctx context.Context, p storage.ListUpdatesParams) ([]tracking.Update, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Update
	match := func(u *tracking.Update) bool {
		return (len(p.Statuses) == 0 || slices.Contains(p.Statuses, u.Status)) &&
			(p.WorkspaceID == "" || u.WorkspaceID == p.WorkspaceID) &&
			(p.PluginName == "" || u.PluginName == p.PluginName) &&
			updateMatches(p, u)
	}
	if p.ByDecision {
		return s.byDecision(p, match), nil
	}
	n := int64(len(s.updates))
	if p.Newest {
		start := n
		if p.AfterID > 0 {
			start = min(n, p.AfterID-1)
		}
		for id := start; id >= 1 && len(out) < p.Limit; id-- {
			if u := s.updates[id-1]; match(u) {
				out = append(out, *u)
			}
		}
		return out, nil
	}
	for id := p.AfterID + 1; id <= n && len(out) < p.Limit; id++ {
		if u := s.updates[id-1]; match(u) {
			out = append(out, *u)
		}
	}
	return out, nil
}

// CountOpenUpdates implements storage.Store.
func (s *Store) CountOpenUpdates(ctx context.Context) ([]storage.UpdateCount, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type group struct {
		status tracking.UpdateStatus
		kind   tracking.UpdateKind
	}
	counts := map[group]int{}
	for _, id := range s.open {
		u := s.updates[id-1]
		counts[group{u.Status, u.Kind}]++
	}
	out := make([]storage.UpdateCount, 0, len(counts))
	for g, n := range counts {
		out = append(out, storage.UpdateCount{Status: g.status, Kind: g.kind, Count: n})
	}
	return out, nil
}

// change runs fn on entry id under the lock and returns the entry as fn
// left it, with fn's error.
func (s *Store) change(ctx context.Context, id int64, fn func(u *tracking.Update) error) (tracking.Update, error) {
	if err := ctx.Err(); err != nil {
		return tracking.Update{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.get(id)
	if err != nil {
		return tracking.Update{}, err
	}
	err = fn(u)
	return *u, err
}

func notIn(op string, u *tracking.Update, want tracking.UpdateStatus) error {
	return fmt.Errorf("memstore: %s update %d: it is %s, not %s: %w", op, u.ID, u.Status, want, tracking.ErrConflict)
}

// ClaimUpdate implements storage.Store.
func (s *Store) ClaimUpdate(ctx context.Context, p storage.ClaimUpdateParams) (tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, err
	}
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		now := storeNow()
		switch {
		case u.Status == tracking.StatusPending,
			u.Status == tracking.StatusApplying && !u.ClaimedUntil.After(now):
			u.Status = tracking.StatusApplying
			u.ClaimedUntil = now.Add(p.TTL)
			s.tokens[u.ID] = p.Token
			return nil
		case u.Status == tracking.StatusApplying:
			return fmt.Errorf("memstore: update %d claimed until %s: %w", u.ID, u.ClaimedUntil.Format(time.RFC3339), tracking.ErrBusy)
		case u.Status == tracking.StatusApplied:
			return nil
		default:
			return fmt.Errorf("memstore: claim update %d: it is %s: %w", u.ID, u.Status, tracking.ErrConflict)
		}
	})
}

// holds reports whether token holds the claim on u (see storage.Store's
// Fencing); otherwise it returns the error the holder gets.
func (s *Store) holds(op string, u *tracking.Update, token string) error {
	if u.Status == tracking.StatusApplying && s.tokens[u.ID] == token {
		return nil
	}
	return fmt.Errorf("memstore: %s update %d: it is %s under another claim or none: %w", op, u.ID, u.Status, tracking.ErrClaimLost)
}

// ExtendClaim implements storage.Store.
func (s *Store) ExtendClaim(ctx context.Context, p storage.ExtendClaimParams) (tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, err
	}
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		if err := s.holds("extend claim on", u, p.Token); err != nil {
			return err
		}
		u.ClaimedUntil = storeNow().Add(p.TTL)
		return nil
	})
}

// CompleteApply implements storage.Store.
func (s *Store) CompleteApply(ctx context.Context, p storage.CompleteApplyParams) (tracking.Update, error) {
	if err := p.Validate(); err != nil {
		return tracking.Update{}, err
	}
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		if u.Status == tracking.StatusApplied && s.tokens[u.ID] == p.Token {
			return nil // a retry of this holder's own completion
		}
		if err := s.holds("complete", u, p.Token); err != nil {
			return err
		}
		at := ts(p.At)
		k := installKey{u.WorkspaceID, u.PluginName}
		if in, ok := s.installs[k]; ok {
			in.InstalledSHA, in.InstalledVersion = u.ToSHA, u.ToVersion
			in.InstalledAt, in.UpdatedAt = at, at
			s.installs[k] = in
		}
		u.Status = tracking.StatusApplied
		u.DecidedAt, u.DecidedBy = at, p.Actor
		u.RestartError = p.RestartError
		u.Override = p.Override
		u.ClaimedUntil = time.Time{}
		delete(s.open, k)
		s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateApplied, *u, at)...)
		return nil
	})
}

// ReleaseClaim implements storage.Store.
func (s *Store) ReleaseClaim(ctx context.Context, p storage.ReleaseClaimParams) (tracking.Update, error) {
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		if err := s.holds("release claim on", u, p.Token); err != nil {
			return err
		}
		u.Status = tracking.StatusPending
		u.Attempts++
		u.LastError = p.Message
		u.ClaimedUntil = time.Time{}
		s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateApplyFailed, *u, ts(p.At))...)
		return nil
	})
}

// SetRestartError implements storage.Store.
func (s *Store) SetRestartError(ctx context.Context, id int64, message string) (tracking.Update, error) {
	return s.change(ctx, id, func(u *tracking.Update) error {
		if u.Status != tracking.StatusApplied {
			return notIn("record restart of", u, tracking.StatusApplied)
		}
		u.RestartError = message
		if message != "" {
			s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateRestartFailed, *u, u.DecidedAt)...)
		}
		return nil
	})
}

// DismissUpdate implements storage.Store.
func (s *Store) DismissUpdate(ctx context.Context, p storage.DismissUpdateParams) (tracking.Update, error) {
	return s.change(ctx, p.ID, func(u *tracking.Update) error {
		switch u.Status {
		case tracking.StatusDismissed:
			return nil
		case tracking.StatusPending:
			u.Status = tracking.StatusDismissed
			u.DecidedAt, u.DecidedBy, u.Reason = ts(p.At), p.Actor, p.Reason
			delete(s.open, installKey{u.WorkspaceID, u.PluginName})
			s.outbox.add(tracking.UpdateEvents(tracking.EventUpdateDismissed, *u, u.DecidedAt)...)
			return nil
		default:
			return notIn("dismiss", u, tracking.StatusPending)
		}
	})
}

// AcquireLease implements storage.Store.
func (s *Store) AcquireLease(ctx context.Context, p storage.LeaseParams) (bool, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return false, err
	}
	defer unlock()
	now := storeNow()
	if l, ok := s.leases[p.Name]; ok && l.holder != p.Holder && l.expires.After(now) {
		return false, nil
	}
	s.leases[p.Name] = lease{holder: p.Holder, expires: ts(now.Add(p.TTL))}
	return true, nil
}

// ReleaseLease implements storage.Store.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[name]; ok && l.holder == holder {
		delete(s.leases, name)
	}
	return nil
}
