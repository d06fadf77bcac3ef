// Package tagselect chooses the tag a tag:latest or semver: ref follows.
//
// # Which tags are versions
//
// A tag is a version when its name is an optional "v" followed by a strict
// semantic version: exactly MAJOR.MINOR.PATCH, an optional -prerelease and
// an optional +build ("v1.2.3", "1.2.3-rc.1", "v1.2.3+build.5"). "v1.2",
// "1", "1.0.0.1", "b1.2.3", "latest" and "nightly" are not versions and are
// skipped without error.
//
// # Which version wins
//
// tag:latest selects the highest version without a prerelease. semver:<c>
// selects the highest version satisfying the Masterminds/semver v3
// constraint c; prereleases are considered only as Masterminds considers
// them, that is when the constraint names one (">=1.0.0-0"). Versions are
// compared as versions, never as strings: v1.10.0 is above v1.9.0.
//
// Equal versions (differing only in build metadata or the "v" prefix) tie;
// the tie goes to the tag whose full name sorts last byte-wise, because
// ls-remote reports no commit times to break it by. The winner is returned
// exactly as written.
package tagselect

import (
	"errors"
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/plugindrift/plugindrift/tracking"
)

// ErrNoMatch is returned when no tag qualifies.
var ErrNoMatch = errors.New("no tag matches")

// Select returns, among names (tag names without "refs/tags/"), the one ref
// selects: for tracking.RefLatest the highest stable semver tag, for
// tracking.RefSemver the highest tag satisfying the constraint. Non-version
// tags are skipped; ties go to the name that sorts last. The name is
// returned exactly as written. It returns ErrNoMatch when nothing qualifies,
// an error wrapping tracking.ErrInvalidRef when the constraint does not
// parse, and one wrapping tracking.ErrInvalidArgument for any other kind of
// ref (only tag:latest and semver: select among tags).
func Select(ref tracking.Ref, names []string) (string, error) {
	accept, err := policy(ref)
	if err != nil {
		return "", err
	}
	var (
		best    string
		bestVer *semver.Version
	)
	for _, name := range names {
		v, ok := Version(name)
		if !ok || !accept(v) {
			continue
		}
		if bestVer == nil {
			best, bestVer = name, v
			continue
		}
		switch c := v.Compare(bestVer); {
		case c > 0, c == 0 && name > best:
			best, bestVer = name, v
		}
	}
	if bestVer == nil {
		return "", ErrNoMatch
	}
	return best, nil
}

// Version parses a tag name as a version: an optional "v", then a strict
// semantic version. It reports false for every other name.
func Version(name string) (*semver.Version, bool) {
	s := name
	if len(s) > 0 && s[0] == 'v' {
		s = s[1:]
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, false
	}
	return v, true
}

// policy returns the test a version must pass to be selected by ref.
func policy(ref tracking.Ref) (func(*semver.Version) bool, error) {
	switch ref.Kind() {
	case tracking.RefLatest:
		return func(v *semver.Version) bool { return v.Prerelease() == "" }, nil
	case tracking.RefSemver:
		c, err := semver.NewConstraint(ref.Constraint())
		if err != nil {
			return nil, fmt.Errorf("tagselect: constraint %q: %v: %w", ref.Constraint(), err, tracking.ErrInvalidRef)
		}
		return c.Check, nil
	default:
		return nil, fmt.Errorf("tagselect: a %s ref selects no tag (only tag:latest and semver: do): %w", ref, tracking.ErrInvalidArgument)
	}
}
