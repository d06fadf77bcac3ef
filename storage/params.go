package storage

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
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

// validatePage checks a keyset cursor and a limit, the pair every
// id-paged list takes.
func validatePage(afterID int64, limit int) error {
	if afterID < 0 {
		return fmt.Errorf("storage: negative cursor %d: %w", afterID, tracking.ErrInvalidArgument)
	}
	return validateLimit(limit)
}

// Validate checks the limit and the workspace prefix.
func (p ListInstallsParams) Validate() error {
	if err := ValidateWorkspacePrefix(p.WorkspacePrefix); err != nil {
		return err
	}
	return validateLimit(p.Limit)
}

// Validate checks the limit and the cursor.
func (p ListUpstreamsParams) Validate() error {
	return validatePage(p.AfterID, p.Limit)
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
		if p.ByDecision && !s.Terminal() {
			return fmt.Errorf("storage: ordering by decision needs decided statuses only, got %q: %w", s, tracking.ErrInvalidArgument)
		}
	}
	if p.ByDecision && len(p.Statuses) == 0 {
		return fmt.Errorf("storage: ordering by decision needs decided statuses (applied, dismissed, superseded): %w", tracking.ErrInvalidArgument)
	}
	for _, k := range p.Kinds {
		if !KnownKind(k) {
			return fmt.Errorf("storage: unknown kind %s: %w", redact.Quote(string(k)), tracking.ErrInvalidArgument)
		}
	}
	if err := ValidateWorkspacePrefix(p.WorkspacePrefix); err != nil {
		return err
	}
	return validateLimit(p.Limit)
}

// RequireTracked refuses a key that names no tracked upstream: a source
// without upstream (local) or a ref that is not resolved (none, sha:).
// Source and Ref are valid by construction, so nothing else is checked.
// Errors wrap tracking.ErrInvalidArgument.
func RequireTracked(key tracking.UpstreamKey) error {
	if !key.Tracked() {
		return fmt.Errorf("storage: %s is not a tracked upstream (want a git or github source and a moving ref): %w", key, tracking.ErrInvalidArgument)
	}
	return nil
}

// Validate checks that the key names a tracked upstream and the SHA and
// every Rewritten commit are full commit ids.
func (p ReconcileParams) Validate() error {
	if err := RequireTracked(p.Key); err != nil {
		return err
	}
	if err := validateRewritten(p.Rewritten); err != nil {
		return err
	}
	if err := p.Verification.Validate(); err != nil {
		return err
	}
	return tracking.ValidateSHA(p.SHA)
}

// Validate checks that the lease has a name, a holder and a positive TTL.
func (p LeaseParams) Validate() error {
	if p.Name == "" || p.Holder == "" || p.TTL <= 0 {
		return fmt.Errorf("storage: lease: want a name, a holder and a positive TTL, got %s, %s, %s: %w", redact.Quote(p.Name), redact.Quote(p.Holder), p.TTL, tracking.ErrInvalidArgument)
	}
	return nil
}

// MaxClaimTTL is the longest an apply claim may last (ClaimUpdateParams,
// ExtendClaimParams and QueueRollbackParams TTL): a longer one would keep
// an entry whose holder died from being applied for days.
const MaxClaimTTL = 24 * time.Hour

// validateClaim checks what every claim takes: a token (see
// ValidateClaimToken) and a TTL, positive and at most MaxClaimTTL.
func validateClaim(token string, ttl time.Duration) error {
	if err := ValidateClaimToken(token); err != nil {
		return err
	}
	if ttl <= 0 || ttl > MaxClaimTTL {
		return fmt.Errorf("storage: claim TTL %s out of range: want more than 0 and at most %s: %w", ttl, MaxClaimTTL, tracking.ErrInvalidArgument)
	}
	return nil
}

// Validate checks the token and the TTL.
func (p ClaimUpdateParams) Validate() error { return validateClaim(p.Token, p.TTL) }

// Validate checks the token and the override: at most
// tracking.MaxOverrideLen bytes of UTF-8, with no control characters but
// newline and tab.
func (p CompleteApplyParams) Validate() error {
	if err := ValidateClaimToken(p.Token); err != nil {
		return err
	}
	if problem := tracking.TextProblem(p.Override, tracking.MaxOverrideLen, true); problem != "" {
		return fmt.Errorf("storage: override %s: %w", problem, tracking.ErrInvalidArgument)
	}
	return nil
}

// Validate checks the token and the TTL.
func (p ExtendClaimParams) Validate() error { return validateClaim(p.Token, p.TTL) }

// ValidateClaimToken checks a claim token: 1 to 128 bytes.
func ValidateClaimToken(token string) error {
	if token == "" || len(token) > 128 {
		return fmt.Errorf("storage: claim token must be 1 to 128 bytes, got %d: %w", len(token), tracking.ErrInvalidArgument)
	}
	return nil
}
