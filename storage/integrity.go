package storage

import (
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/tracking"
)

// validateRewritten checks ReconcileParams.Rewritten: full commit ids, at
// most MaxLimit of them (InstalledSHAs returns no more).
func validateRewritten(shas []string) error {
	if len(shas) > MaxLimit {
		return fmt.Errorf("storage: %d rewritten commits: want at most %d: %w", len(shas), MaxLimit, tracking.ErrInvalidArgument)
	}
	if err := tracking.ValidateSHAs(shas...); err != nil {
		return fmt.Errorf("storage: rewritten commit: %w", err)
	}
	return nil
}

// QueueRollbackParams asks for a rollback of one install to an earlier
// commit; see Store.QueueRollback.
type QueueRollbackParams struct {
	WorkspaceID string
	PluginName  string
	// ToSHA is the commit to go back to; ToVersion its tag name, if any.
	ToSHA     string
	ToVersion string
	Actor     string
	Reason    string
	// Token names the apply claim the caller takes on the new entry, for
	// TTL by the store's clock, as with ClaimUpdate.
	Token string
	TTL   time.Duration
	// At dates the new entry, the superseded ones and the hold.
	At time.Time
}

// Validate checks the identity, the commit, the version, the token and
// the TTL.
func (p QueueRollbackParams) Validate() error {
	if err := tracking.ValidateWorkspaceID(p.WorkspaceID); err != nil {
		return err
	}
	if err := tracking.ValidatePluginName(p.PluginName); err != nil {
		return err
	}
	if err := tracking.ValidateSHA(p.ToSHA); err != nil {
		return fmt.Errorf("storage: rollback target: %w", err)
	}
	if p.ToVersion != "" {
		if err := tracking.ValidateRefName(p.ToVersion); err != nil {
			return fmt.Errorf("storage: rollback version must be a tag name: %w", err)
		}
	}
	return validateClaim(p.Token, p.TTL)
}

// ListHoldsParams selects holds, ordered by ID.
type ListHoldsParams struct {
	// WorkspaceID and PluginName, when set, filter on equality.
	WorkspaceID string
	PluginName  string
	// Active keeps only holds not released.
	Active bool
	// AfterID is the keyset cursor (0: from the start).
	AfterID int64
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// Validate checks the limit and the cursor.
func (p ListHoldsParams) Validate() error {
	return validatePage(p.AfterID, p.Limit)
}

// ReleaseHoldParams releases one hold.
type ReleaseHoldParams struct {
	ID    int64
	Actor string
	At    time.Time
}

// HoldVersionKey orders versions for holds: a string that sorts byte-wise
// as the versions do by semver precedence, except that the prereleases of
// one MAJOR.MINOR.PATCH count as one (all below the release). It is "" for
// a name that is not a version (which tags are versions is the tag
// selector's rule). Stores compare it; this is the one place it is made.
func HoldVersionKey(version string) string {
	v, ok := tagselect.Version(version)
	if !ok {
		return ""
	}
	release := 1
	if v.Prerelease() != "" {
		release = 0
	}
	return fmt.Sprintf("%020d.%020d.%020d.%d", v.Major(), v.Minor(), v.Patch(), release)
}

// ReconcileVersionKey is the HoldVersionKey that Reconcile compares holds
// with: p.Version's, for refs that select versions (tag:latest,
// semver:), "" for the others, whose holds name only their commit.
func (p ReconcileParams) ReconcileVersionKey() string {
	if p.Key.Ref.Kind() != tracking.RefLatest && p.Key.Ref.Kind() != tracking.RefSemver {
		return ""
	}
	return HoldVersionKey(p.Version)
}

// HoldCovers reports whether hold h keeps the entry that p would queue
// for h's install out of the queue: the rule of Store.QueueRollback, for
// backends that check it in Go and for explanations.
func HoldCovers(h tracking.Hold, p ReconcileParams) bool {
	if !h.Active() {
		return false
	}
	if h.SHA == p.SHA {
		return true
	}
	key, held := p.ReconcileVersionKey(), HoldVersionKey(h.Version)
	return key != "" && held != "" && key <= held
}

// RingEvidenceParams asks how one commit fared in one ring.
type RingEvidenceParams struct {
	SHA  string
	Ring int
}

// Validate checks the commit and the ring.
func (p RingEvidenceParams) Validate() error {
	if err := tracking.ValidateSHA(p.SHA); err != nil {
		return err
	}
	return tracking.ValidateRing(p.Ring)
}

// RingEvidence is what Store.RingEvidence found.
type RingEvidence struct {
	// FirstApplied is the earliest DecidedAt of an applied entry (not a
	// rollback) to the commit; zero when it was never applied in the ring.
	FirstApplied time.Time
	// Rollbacks counts rollback entries away from the commit.
	Rollbacks int
	// FailedRestarts counts applied entries to the commit whose
	// RestartError is set (a restart still owed counts: it has not
	// succeeded).
	FailedRestarts int
}
