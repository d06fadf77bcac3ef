package adminhttp

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/tracking"
)

func TestBump(t *testing.T) {
	for _, c := range []struct {
		kind     tracking.UpdateKind
		from, to string
		want     string
	}{
		{tracking.KindNewVersion, "v1.2.3", "v2.0.0", "major"},
		{tracking.KindNewVersion, "v1.2.3", "v1.3.0", "minor"},
		{tracking.KindNewVersion, "1.2.3", "v1.2.4", "patch"},
		{tracking.KindNewVersion, "v1.2.3", "v1.3.0-rc.1", "prerelease"},
		{tracking.KindNewVersion, "v1.3.0-rc.1", "v1.3.0", "prerelease"},
		{tracking.KindNewVersion, "v0.9.9", "v0.10.0", "minor"},
		{tracking.KindNewVersion, "v1.2.3", "v1.2.3", ""},
		{tracking.KindNewVersion, "v2.0.0", "v1.9.0", ""},
		{tracking.KindNewVersion, "", "v1.0.0", ""},
		{tracking.KindNewVersion, "v1.2", "v1.3", ""},
		{tracking.KindNewVersion, "latest", "v1.3.0", ""},
		{tracking.KindTagMoved, "v1.2.3", "v2.0.0", ""},
		{tracking.KindNewCommit, "v1.2.3", "v2.0.0", ""},
	} {
		got := bump(tracking.Update{Kind: c.kind, FromVersion: c.from, ToVersion: c.to})
		assert.Equal(t, c.want, got, "%s %s → %s", c.kind, c.from, c.to)
	}
}
