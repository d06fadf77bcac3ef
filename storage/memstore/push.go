package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// pushState holds the push webhook tables. Its zero value is empty; the
// maps are made on first write.
type pushState struct {
	requests   map[string]*checkRequest // by upstreamKeyOf
	deliveries map[string]time.Time     // delivery id → expiry
}

type checkRequest struct {
	storage.CheckRequest
	holder       string
	claimedUntil time.Time
}

// ListRepositoryUpstreams implements storage.Store. A scan of the
// upstreams is fine for a fake; the SQL backends use an index.
func (s *Store) ListRepositoryUpstreams(ctx context.Context, p storage.ListRepositoryUpstreamsParams) ([]tracking.Upstream, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Upstream
	for uk, u := range s.upstreams {
		if u.ID > p.AfterID && len(s.byUpstream[uk]) > 0 && u.Key.Source.Repository() == p.Repository {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b tracking.Upstream) int { return cmp.Compare(a.ID, b.ID) })
	return out[:min(len(out), p.Limit)], nil
}

// RecordPush implements storage.Store.
func (s *Store) RecordPush(ctx context.Context, p storage.RecordPushParams) (storage.RecordPushResult, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return storage.RecordPushResult{}, err
	}
	defer unlock()
	at := ts(p.At)
	ps := &s.push
	if ps.requests == nil {
		ps.requests, ps.deliveries = map[string]*checkRequest{}, map[string]time.Time{}
	}
	for id, exp := range ps.deliveries {
		if !exp.After(at) {
			delete(ps.deliveries, id)
		}
	}
	if p.DeliveryID != "" {
		if _, seen := ps.deliveries[p.DeliveryID]; seen {
			return storage.RecordPushResult{Replayed: true}, nil
		}
		ps.deliveries[p.DeliveryID] = ts(p.DeliveryExpires)
	}
	var res storage.RecordPushResult
	for _, key := range p.Keys {
		uk := upstreamKeyOf(key)
		if u := s.upstreams[uk]; u != nil {
			u.LastPushAt = at
		}
		if r := ps.requests[uk]; r != nil {
			r.Generation++
			continue
		}
		ps.requests[uk] = &checkRequest{CheckRequest: storage.CheckRequest{Key: key, RequestedAt: at, Generation: 1}}
		res.Requested++
	}
	return res, nil
}

// ClaimCheckRequests implements storage.Store.
func (s *Store) ClaimCheckRequests(ctx context.Context, p storage.ClaimCheckRequestsParams) ([]storage.CheckRequest, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The store's own clock judges expiry, as a database server's does.
	now := ts(time.Now())
	var free []*checkRequest
	for _, r := range s.push.requests {
		// claimedUntil is a claim's expiry, or the rest of a request
		// handed back with RecheckAfter.
		if !r.claimedUntil.After(now) {
			free = append(free, r)
		}
	}
	slices.SortFunc(free, func(a, b *checkRequest) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(upstreamKeyOf(a.Key), upstreamKeyOf(b.Key)))
	})
	out := make([]storage.CheckRequest, 0, min(len(free), p.Limit))
	for _, r := range free[:min(len(free), p.Limit)] {
		r.holder, r.claimedUntil = p.Holder, ts(now.Add(p.TTL))
		out = append(out, r.CheckRequest)
	}
	return out, nil
}

// CompleteCheckRequest implements storage.Store.
func (s *Store) CompleteCheckRequest(ctx context.Context, p storage.CompleteCheckRequestParams) (bool, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return false, err
	}
	defer unlock()
	uk := upstreamKeyOf(p.Key)
	r := s.push.requests[uk]
	if r == nil || r.holder != p.Holder {
		return false, fmt.Errorf("memstore: complete check of %s: not claimed by %s: %w", p.Key, redact.Quote(p.Holder), tracking.ErrClaimLost)
	}
	if r.Generation == p.Generation {
		delete(s.push.requests, uk)
		return false, nil
	}
	r.holder, r.claimedUntil = "", time.Time{}
	if p.RecheckAfter > 0 {
		r.claimedUntil = ts(time.Now().Add(p.RecheckAfter))
	}
	return true, nil
}
