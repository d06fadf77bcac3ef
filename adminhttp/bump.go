package adminhttp

import (
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/tracking"
)

// The semver bump labels of a new-version entry.
const (
	bumpMajor      = "major"
	bumpMinor      = "minor"
	bumpPatch      = "patch"
	bumpPrerelease = "prerelease"
)

// bump labels a new-version entry by how far its versions move: "major",
// "minor" or "patch" by the first of those numbers that grows, or
// "prerelease" when the new version is a prerelease or only the
// prerelease part changed. It is "" for other kinds, for versions that
// are not versions by the SDK's one rule (tagselect.Version: an optional
// "v" and a strict semantic version), and when the version does not grow.
func bump(u tracking.Update) string {
	if u.Kind != tracking.KindNewVersion {
		return ""
	}
	from, ok1 := tagselect.Version(u.FromVersion)
	to, ok2 := tagselect.Version(u.ToVersion)
	if !ok1 || !ok2 || !to.GreaterThan(from) {
		return ""
	}
	switch {
	case to.Prerelease() != "":
		return bumpPrerelease
	case to.Major() != from.Major():
		return bumpMajor
	case to.Minor() != from.Minor():
		return bumpMinor
	case to.Patch() != from.Patch():
		return bumpPatch
	}
	return bumpPrerelease // 1.2.3-rc.1 → 1.2.3
}
