package drift

import (
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/tracking"
)

// Ready-made rules for UpdaterConfig.AutoApply.

// Never applies nothing automatically. It is the same as leaving AutoApply
// nil, written out for hosts that want to say so.
func Never(tracking.Update) bool { return false }

// PatchOnly accepts a new-version entry whose versions are both semver
// with the same major and minor and a higher patch (v1.4.2 → v1.4.3), and
// nothing else: no branch commits, no minor or major bumps, no prerelease
// on either side, no entry without versions. Which tags are versions is
// the tag selector's rule (see the README's ref table).
func PatchOnly(u tracking.Update) bool {
	if u.Kind != tracking.KindNewVersion {
		return false
	}
	from, ok1 := tagselect.Version(u.FromVersion)
	to, ok2 := tagselect.Version(u.ToVersion)
	if !ok1 || !ok2 || from.Prerelease() != "" || to.Prerelease() != "" {
		return false
	}
	return to.Major() == from.Major() && to.Minor() == from.Minor() && to.Patch() > from.Patch()
}
