package storage

import (
	"fmt"

	"github.com/plugindrift/plugindrift/tracking"
)

// The Validate methods hold the argument rules every backend applies before
// touching its database. Errors wrap tracking.ErrInvalidArgument.

func validateLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return fmt.Errorf("storage: limit %d out of range: want 1 to %d: %w", limit, MaxLimit, tracking.ErrInvalidArgument)
	}
	return nil
}

// Validate checks the limit.
func (p ListInstallsParams) Validate() error { return validateLimit(p.Limit) }

// Validate checks the limit and the cursor.
func (p ListUpstreamsParams) Validate() error {
	if p.AfterID < 0 {
		return fmt.Errorf("storage: negative cursor %d: %w", p.AfterID, tracking.ErrInvalidArgument)
	}
	return validateLimit(p.Limit)
}

// Validate checks the limit, the cursor and the statuses.
func (p ListUpdatesParams) Validate() error {
	if p.AfterID < 0 {
		return fmt.Errorf("storage: negative cursor %d: %w", p.AfterID, tracking.ErrInvalidArgument)
	}
	for _, s := range p.Statuses {
		if !s.Valid() {
			return fmt.Errorf("storage: unknown status %q: %w", s, tracking.ErrInvalidArgument)
		}
	}
	return validateLimit(p.Limit)
}

// ValidateUpstreamKey checks that key names a tracked upstream: a valid
// source that has an upstream, followed at a moving ref. Errors wrap
// tracking.ErrInvalidArgument.
func ValidateUpstreamKey(key tracking.UpstreamKey) error {
	if !key.Source.HasUpstream() || !key.Ref.Tracked() {
		return fmt.Errorf("storage: %s is not a tracked upstream: %w", key, tracking.ErrInvalidArgument)
	}
	if err := key.Source.Validate(); err != nil {
		return fmt.Errorf("storage: upstream %s: %w: %w", key, tracking.ErrInvalidArgument, err)
	}
	if err := key.Ref.Validate(); err != nil {
		return fmt.Errorf("storage: upstream %s: %w: %w", key, tracking.ErrInvalidArgument, err)
	}
	return nil
}

// Validate checks that the key names a tracked upstream and the SHA is a
// full commit id.
func (p ReconcileParams) Validate() error {
	if err := ValidateUpstreamKey(p.Key); err != nil {
		return err
	}
	return tracking.ValidateSHA(p.SHA)
}

// Validate checks that the lease has a name, a holder and a positive TTL.
func (p LeaseParams) Validate() error {
	if p.Name == "" || p.Holder == "" || p.TTL <= 0 {
		return fmt.Errorf("storage: lease: want a name, a holder and a positive TTL, got %q, %q, %s: %w", trim(p.Name), trim(p.Holder), p.TTL, tracking.ErrInvalidArgument)
	}
	return nil
}

// trim shortens hostile input before it is quoted in an error.
func trim(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "…"
}

// ValidateClaimToken checks a claim token: 1 to 128 bytes.
func ValidateClaimToken(token string) error {
	if token == "" || len(token) > 128 {
		return fmt.Errorf("storage: claim token must be 1 to 128 bytes, got %d: %w", len(token), tracking.ErrInvalidArgument)
	}
	return nil
}
