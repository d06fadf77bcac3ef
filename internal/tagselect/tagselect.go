// Package tagselect chooses the tag a tag:latest or semver: ref follows.
package tagselect

import (
	"errors"

	"github.com/plugindrift/plugindrift/tracking"
)

// ErrNoMatch is returned when no tag qualifies.
var ErrNoMatch = errors.New("no tag matches")

// Select returns, among names (tag names without "refs/tags/"), the one ref
// selects: for tracking.RefLatest the highest stable semver tag, for
// tracking.RefSemver the highest tag satisfying the constraint. Non-version
// tags are skipped; ties go to the name that sorts last. The name is
// returned exactly as written. It returns ErrNoMatch when nothing qualifies.
func Select(ref tracking.Ref, names []string) (string, error) {
	return "", errors.New("unimplemented")
}
