package bunstore

import (
	"strings"
	"testing"
)

// TestFailingUpstreamsUseTheirIndex: the failing list reads the partial
// index of failing upstreams, not every upstream in ID order (which the
// primary key would also allow without a full scan).
func TestFailingUpstreamsUseTheirIndex(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.newStore(t)
		plan := explain(t, s, s.q.listFailingUpstreams, 0, 100)
		if bad := fullScans(plan); len(bad) > 0 {
			t.Errorf("full scan %q in the plan:\n%s", bad, strings.Join(plan, "\n"))
		}
		if !strings.Contains(strings.Join(plan, "\n"), s.t.upstreams+"_failing") {
			t.Errorf("the plan does not use index %s_failing:\n%s", s.t.upstreams, strings.Join(plan, "\n"))
		}
	})
}
