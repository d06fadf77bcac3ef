// Package storetest is the conformance suite for storage.Store. It is the
// single statement of the queue rules (DESIGN §5) at the store level: every
// backend, the in-memory fake included, runs it, and a third-party backend
// can run it too.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storage.Store {
//			return newIsolatedStore(t) // fresh, migrated, cleaned up by t.Cleanup
//		})
//	}
package storetest

import (
	"slices"
	"testing"

	"github.com/plugindrift/plugindrift/storage"
)

// Harness returns a new, empty, migrated store for one test. The harness
// owns isolation (a fresh database or schema per call) and cleanup
// (t.Cleanup).
type Harness func(t *testing.T) storage.Store

// Run runs the whole suite against stores made by h, one store per
// subtest. The subtests run in parallel (t.Parallel), so h must be safe to
// call from several goroutines at once; each call's store is used by one
// subtest only.
func Run(t *testing.T, h Harness) {
	t.Helper()
	for _, c := range slices.Concat(cases, pushCases, eventCases, verificationCases, failingCases, sweepCases) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newEnv(t, h(t)))
		})
	}
}
