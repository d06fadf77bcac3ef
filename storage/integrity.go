package storage

import (
	"fmt"

	"github.com/plugindrift/plugindrift/tracking"
)

// validateRewritten checks ReconcileParams.Rewritten: full commit ids, at
// most MaxLimit of them (InstalledSHAs returns no more).
func validateRewritten(shas []string) error {
	if len(shas) > MaxLimit {
		return fmt.Errorf("storage: %d rewritten commits: want at most %d: %w", len(shas), MaxLimit, tracking.ErrInvalidArgument)
	}
	for _, s := range shas {
		if err := tracking.ValidateSHA(s); err != nil {
			return fmt.Errorf("storage: rewritten commit: %w", err)
		}
	}
	return nil
}
