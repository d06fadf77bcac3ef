package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// BenchHarness returns a new, empty, migrated store for a benchmark; like
// Harness, it owns isolation and cleanup (b.Cleanup).
type BenchHarness func(b *testing.B) storage.Store

// InstallImporter may be implemented by the stores a BenchHarness returns,
// to load the benchmark's installs faster than one UpsertInstall each
// (bunstore.Store does). ImportInstalls must leave an empty store as
// UpsertInstall of every install would.
type InstallImporter interface {
	ImportInstalls(ctx context.Context, installs []tracking.Install) error
}

// Benchmark shape: BenchInstalls installs spread evenly over
// BenchUpstreams distinct upstreams, as a sweep of a large deployment sees.
const (
	BenchUpstreams = 1000
	BenchInstalls  = 100_000
)

// BenchmarkReconcile times one full sweep's worth of Reconcile calls: one
// per upstream, over BenchUpstreams upstreams followed by BenchInstalls
// installs, one call after the other. Sub-benchmarks:
//
//   - steady: every install is already at the upstream commit; nothing is
//     queued or superseded. This is the cost of a sweep when nothing moved.
//   - drift: every install is one commit behind; the pass queues
//     BenchInstalls entries. Each iteration starts from a freshly seeded
//     store, outside the timer.
//
// ns/op is the time of one whole pass. Seeding uses InstallImporter when
// the store implements it, else concurrent UpsertInstall calls; it is never
// timed. Call it from a backend's benchmark:
//
//	func BenchmarkReconcile(b *testing.B) {
//		storetest.BenchmarkReconcile(b, func(b *testing.B) storage.Store { return newIsolatedStore(b) })
//	}
func BenchmarkReconcile(b *testing.B, h BenchHarness) {
	keys := benchKeys(b)
	installs := benchInstalls(keys, benchCommit(1))
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

	b.Run("steady", func(b *testing.B) {
		s := h(b)
		seed(b, s, installs)
		reconcilePass(b, s, keys, benchCommit(1), at) // warm: upstream rows hold their first resolution
		b.ResetTimer()
		for i := range b.N {
			res := reconcilePass(b, s, keys, benchCommit(1), at.Add(time.Duration(i+1)*time.Minute))
			if res != (storage.ReconcileResult{Installs: BenchInstalls}) {
				b.Fatalf("steady pass changed the queue: %+v", res)
			}
		}
	})

	b.Run("drift", func(b *testing.B) {
		b.StopTimer()
		for range b.N {
			s := h(b)
			seed(b, s, installs)
			b.StartTimer()
			res := reconcilePass(b, s, keys, benchCommit(2), at)
			b.StopTimer()
			if res != (storage.ReconcileResult{Installs: BenchInstalls, Queued: BenchInstalls}) {
				b.Fatalf("drift pass: %+v, want every install queued", res)
			}
		}
		b.ReportMetric(BenchInstalls, "queued/op")
	})
}

func benchKeys(b *testing.B) []tracking.UpstreamKey {
	ref, err := tracking.ParseRef("branch:main")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]tracking.UpstreamKey, BenchUpstreams)
	for i := range keys {
		src, err := tracking.ParseSource(fmt.Sprintf("github://bench/plugin-%04d", i))
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = tracking.UpstreamKey{Source: src, Ref: ref}
	}
	return keys
}

// benchInstalls puts plugin i (following keys[i]) into every workspace.
func benchInstalls(keys []tracking.UpstreamKey, commit string) []tracking.Install {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	perKey := BenchInstalls / len(keys)
	out := make([]tracking.Install, 0, BenchInstalls)
	for i, k := range keys {
		for w := range perKey {
			out = append(out, tracking.Install{
				WorkspaceID: fmt.Sprintf("ws-%05d", w), PluginName: fmt.Sprintf("plugin-%04d", i),
				Source: k.Source, Ref: k.Ref, InstalledSHA: commit, InstalledVersion: "",
				InstalledAt: at, UpdatedAt: at,
			})
		}
	}
	return out
}

func seed(b *testing.B, s storage.Store, installs []tracking.Install) {
	b.Helper()
	ctx := b.Context()
	if importer, ok := s.(InstallImporter); ok {
		if err := importer.ImportInstalls(ctx, installs); err != nil {
			b.Fatalf("seed: %v", err)
		}
		return
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(installs); i += workers {
				if _, err := s.UpsertInstall(ctx, installs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("seed: %v", err)
	}
}

// reconcilePass reconciles every key once, in order, and sums the results.
func reconcilePass(b *testing.B, s storage.Store, keys []tracking.UpstreamKey, commit string, now time.Time) storage.ReconcileResult {
	ctx := b.Context()
	var sum storage.ReconcileResult
	for _, k := range keys {
		res, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: commit, Validator: "bench", Now: now})
		if err != nil {
			b.Fatalf("reconcile %s: %v", k, err)
		}
		sum.Installs += res.Installs
		sum.Queued += res.Queued
		sum.Superseded += res.Superseded
	}
	return sum
}

// benchCommit returns a distinct, valid commit id for n.
func benchCommit(n int) string { return fmt.Sprintf("%040x", n) }
