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

// Validate checks that the key names a tracked upstream and the SHA is a
// full commit id.
func (p ReconcileParams) Validate() error {
	if !p.Key.Source.HasUpstream() || !p.Key.Ref.Tracked() {
		return fmt.Errorf("storage: %s is not a tracked upstream: %w", p.Key, tracking.ErrInvalidArgument)
	}
	return tracking.ValidateSHA(p.SHA)
}
