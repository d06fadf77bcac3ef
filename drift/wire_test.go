package drift_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestLeaseNamesNeverChange: replicas of different versions share these
// leases; a renamed one would let two of them sweep (or check) at once.
func TestLeaseNamesNeverChange(t *testing.T) {
	assert.Equal(t, "plugindrift/sweeper", drift.SweeperLeaseName)
	assert.Equal(t, "plugindrift/check/42", drift.CheckLeaseName(tracking.Upstream{ID: 42}))
}
