package storage

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// Kinds lists every update kind, for filters and their validation.
func Kinds() []tracking.UpdateKind {
	return []tracking.UpdateKind{tracking.KindNewVersion, tracking.KindNewCommit, tracking.KindTagMoved,
		tracking.KindHistoryRewritten, tracking.KindRollback}
}

// KnownKind reports whether k is one of Kinds.
func KnownKind(k tracking.UpdateKind) bool { return slices.Contains(Kinds(), k) }

// ValidateWorkspacePrefix checks a workspace id prefix: empty (no filter),
// or at most 128 of the characters a workspace id holds (ASCII letters,
// digits and ._:@-). Errors wrap tracking.ErrInvalidArgument.
func ValidateWorkspacePrefix(p string) error {
	if len(p) > 128 || strings.IndexFunc(p, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._:@-", c))
	}) >= 0 {
		return fmt.Errorf("storage: workspace prefix %s: want at most 128 ASCII letters, digits and ._:@-: %w", redact.Quote(p), tracking.ErrInvalidArgument)
	}
	return nil
}

// PrefixUpperBound returns the smallest string above every string that
// begins with the valid workspace prefix p, so that a prefix match is the
// index range [p, PrefixUpperBound(p)): every character of a workspace id
// sorts below 0x7f.
func PrefixUpperBound(p string) string { return p + "\x7f" }
