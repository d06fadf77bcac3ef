package storage

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// The types of the push webhook methods of Store (see "Push webhooks" in
// the Store interface).

// ListRepositoryUpstreamsParams pages through the upstreams of one
// repository.
type ListRepositoryUpstreamsParams struct {
	// Repository is the identity every returned upstream's source has
	// (tracking.Source.Repository). It must be valid.
	Repository tracking.RepoKey
	// AfterID is the keyset cursor (0: from the start).
	AfterID int64
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// Validate checks the repository, the cursor and the limit.
func (p ListRepositoryUpstreamsParams) Validate() error {
	if !p.Repository.IsValid() {
		return fmt.Errorf("storage: list repository upstreams: no repository: build it with tracking.ParseRepoURL or Source.Repository: %w", tracking.ErrInvalidArgument)
	}
	return validatePage(p.AfterID, p.Limit)
}

// MaxPushKeys is how many upstreams one RecordPush may name.
const MaxPushKeys = 10000

// maxDeliveryIDLen bounds a delivery id; receivers hash longer ones.
const maxDeliveryIDLen = 128

// RecordPushParams records one received push webhook.
type RecordPushParams struct {
	// DeliveryID names the delivery (the provider's delivery header,
	// prefixed by the provider), so that a replayed one is recognised.
	// Empty: no replay check. At most 128 bytes.
	DeliveryID string
	// DeliveryExpires is when the delivery id may be forgotten: a replay
	// after it is processed again. Required with DeliveryID.
	DeliveryExpires time.Time
	// Keys are the upstreams to check. Each must be a tracked key; at
	// most MaxPushKeys of them, without duplicates.
	Keys []tracking.UpstreamKey
	// At is when the push was received: the upstreams' LastPushAt.
	At time.Time
}

// Validate checks the delivery id, its expiry and the keys.
func (p RecordPushParams) Validate() error {
	if len(p.DeliveryID) > maxDeliveryIDLen {
		return fmt.Errorf("storage: record push: delivery id of %d bytes: want at most %d (hash a longer one): %w", len(p.DeliveryID), maxDeliveryIDLen, tracking.ErrInvalidArgument)
	}
	if p.DeliveryID != "" && !p.DeliveryExpires.After(p.At) {
		return fmt.Errorf("storage: record push: delivery %s needs an expiry after At: %w", redact.Quote(p.DeliveryID), tracking.ErrInvalidArgument)
	}
	if len(p.Keys) > MaxPushKeys {
		return fmt.Errorf("storage: record push: %d upstreams: want at most %d per push: %w", len(p.Keys), MaxPushKeys, tracking.ErrInvalidArgument)
	}
	seen := make(map[tracking.UpstreamKey]bool, len(p.Keys))
	for _, k := range p.Keys {
		if err := RequireTracked(k); err != nil {
			return err
		}
		if seen[k] {
			return fmt.Errorf("storage: record push: %s named twice: %w", k, tracking.ErrInvalidArgument)
		}
		seen[k] = true
	}
	return nil
}

// RecordPushResult says what RecordPush did.
type RecordPushResult struct {
	// Replayed is set when the delivery id was seen before and has not
	// expired: nothing was recorded.
	Replayed bool
	// Requested is how many check requests were created; the other keys
	// had an open request already, which now asks for one more check
	// (coalesced).
	Requested int
}

// CheckRequest is one recorded request to check an upstream now, claimed
// by ClaimCheckRequests.
type CheckRequest struct {
	Key tracking.UpstreamKey
	// RequestedAt is when the oldest push it stands for was received.
	RequestedAt time.Time
	// Generation counts the pushes recorded for the key; the claimer
	// hands it back to CompleteCheckRequest, so a push recorded during
	// the check asks for another one.
	Generation int64
}

// ClaimCheckRequestsParams claims open check requests.
type ClaimCheckRequestsParams struct {
	// Holder names the claimer; it is needed to complete the requests.
	Holder string
	// TTL is how long the claim lasts, by the store's clock; after that
	// another holder may claim the requests (the first one died).
	TTL time.Duration
	// Limit caps how many requests are claimed. Must be between 1 and
	// MaxLimit.
	Limit int
}

// Validate checks the holder, the TTL and the limit.
func (p ClaimCheckRequestsParams) Validate() error {
	if p.Holder == "" || p.TTL <= 0 {
		return fmt.Errorf("storage: claim check requests: want a holder and a positive TTL, got %s, %s: %w", redact.Quote(p.Holder), p.TTL, tracking.ErrInvalidArgument)
	}
	return validateLimit(p.Limit)
}

// CompleteCheckRequestParams ends the claim on one check request.
type CompleteCheckRequestParams struct {
	Key    tracking.UpstreamKey
	Holder string
	// Generation is the claimed request's: the check covered the pushes
	// up to it. 0 hands the request back unchecked.
	Generation int64
	// RecheckAfter is how long a request that stays (pushes arrived
	// during the check) rests before it can be claimed again, by the
	// store's clock: a burst of pushes then costs one check per
	// RecheckAfter, not one per push. 0: at once. Must not be negative.
	RecheckAfter time.Duration
}

// Validate checks the holder and RecheckAfter.
func (p CompleteCheckRequestParams) Validate() error {
	if p.Holder == "" || p.RecheckAfter < 0 {
		return fmt.Errorf("storage: complete check request: want a holder and a RecheckAfter of at least 0, got %s, %s: %w", redact.Quote(p.Holder), p.RecheckAfter, tracking.ErrInvalidArgument)
	}
	return nil
}
