package drift

import (
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/plugindrift/plugindrift/tracking"
)

// Ready-made rules for SweeperConfig.AutoApply.

// Never applies nothing automatically. It is the same as leaving AutoApply
// nil, written out for hosts that want to say so.
func Never(tracking.Update) bool { return false }

// PatchOnly accepts a new-version entry whose versions are both semver
// with the same major and minor and a higher patch (v1.4.2 → v1.4.3), and
// nothing else: no branch commits, no minor or major bumps, no prerelease
// on either side, no entry without versions.
func PatchOnly(u tracking.Update) bool {
	if u.Kind != tracking.KindNewVersion {
		return false
	}
	from, err1 := semver.StrictNewVersion(strings.TrimPrefix(u.FromVersion, "v"))
	to, err2 := semver.StrictNewVersion(strings.TrimPrefix(u.ToVersion, "v"))
	if err1 != nil || err2 != nil || from.Prerelease() != "" || to.Prerelease() != "" {
		return false
	}
	return to.Major() == from.Major() && to.Minor() == from.Minor() && to.Patch() > from.Patch()
}
