package drift_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// slowResolver answers every upstream with the same commit after a fixed
// delay, like a remote that takes that long per call.
type slowResolver struct {
	delay time.Duration
	sha   atomic.Value // string
	calls atomic.Int64
}

func (r *slowResolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	r.calls.Add(1)
	if r.delay > 0 {
		t := time.NewTimer(r.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return resolver.Result{}, ctx.Err()
		case <-t.C:
		}
	}
	return resolver.Result{SHA: r.sha.Load().(string)}, nil
}

var benchBackends = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "bench.db") }},
	{"postgres", func(b *testing.B) string { return pgtest.NewDatabase(b) }},
}

func openBench(b *testing.B, dsn string) *bunstore.Store {
	b.Helper()
	s, err := bunstore.Open(b.Context(), dsn, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	return s
}

// seedInstalls records installs installs spread over upstreams upstreams,
// all at commit, as one bulk import.
func seedInstalls(b *testing.B, s *bunstore.Store, installs, upstreams int, commit string) {
	b.Helper()
	ref, err := tracking.BranchRef("main")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]tracking.Install, 0, 10_000)
	flush := func() {
		if err := s.ImportInstalls(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range installs {
		u := i % upstreams
		src, err := tracking.ParseSource(fmt.Sprintf("github://bench/plugin-%04d", u))
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, tracking.Install{
			WorkspaceID: fmt.Sprintf("ws-%07d", i/upstreams), PluginName: fmt.Sprintf("plugin-%04d", u),
			Source: src, Ref: ref, InstalledSHA: commit, UpdatedAt: at,
		})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

// BenchmarkSweep times whole sweeps (resolve + reconcile) of 100k installs
// over 1k upstreams, with a resolver that takes 50 ms per call, at
// concurrency 16. The floor is 1,000 × 50 ms / 16 = 3.125 s; the
// "x-floor" metric is the sweep's time divided by it.
//
//	go test ./drift -run '^$' -bench BenchmarkSweep/ -benchtime 3x
func BenchmarkSweep(b *testing.B) {
	const installs, upstreams, concurrency = 100_000, 1_000, 16
	const delay = 50 * time.Millisecond
	floor := time.Duration(upstreams) * delay / concurrency
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			b.Run("drift", func(b *testing.B) {
				var total time.Duration
				for range b.N {
					b.StopTimer()
					s := openBench(b, be.dsn(b))
					seedInstalls(b, s, installs, upstreams, sha(1))
					res := &slowResolver{delay: delay}
					res.sha.Store(sha(2))
					sw, err := drift.NewSweeper(s, res, &drift.SweeperConfig{Concurrency: concurrency, PageSize: 500})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					rep, err := sw.RunOnce(b.Context())
					total += time.Since(start)
					if err != nil || rep.Queued != installs || rep.Resolved != upstreams {
						b.Fatalf("sweep: %+v, %v", rep, err)
					}
				}
				b.ReportMetric(float64(total)/float64(b.N)/float64(floor), "x-floor")
			})
			b.Run("steady", func(b *testing.B) {
				s := openBench(b, be.dsn(b))
				seedInstalls(b, s, installs, upstreams, sha(1))
				res := &slowResolver{delay: delay}
				res.sha.Store(sha(1))
				sw, err := drift.NewSweeper(s, res, &drift.SweeperConfig{Concurrency: concurrency, PageSize: 500})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					rep, err := sw.RunOnce(b.Context())
					if err != nil || rep.Queued != 0 || rep.Resolved != upstreams || rep.Installs != installs {
						b.Fatalf("sweep: %+v, %v", rep, err)
					}
				}
				b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(floor), "x-floor")
			})
		})
	}
}

// BenchmarkSweepMemory measures the peak Go heap a steady-state sweep adds
// at 100k and at 1M installs (1k upstreams, an instant resolver, SQLite).
// A sweep that streams upstreams and reconciles in the database needs the
// same memory whatever the number of installs.
//
//	go test ./drift -run '^$' -bench BenchmarkSweepMemory -benchtime 3x
func BenchmarkSweepMemory(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("installs=%d", n), func(b *testing.B) {
			s := openBench(b, benchBackends[0].dsn(b))
			seedInstalls(b, s, n, 1_000, sha(1))
			res := &slowResolver{}
			res.sha.Store(sha(1))
			sw, err := drift.NewSweeper(s, res, &drift.SweeperConfig{Concurrency: 16})
			if err != nil {
				b.Fatal(err)
			}
			var peak uint64
			b.ResetTimer()
			for range b.N {
				runtime.GC()
				base := heapBytes()
				stop := make(chan struct{})
				var wg sync.WaitGroup
				var maxSeen atomic.Uint64
				wg.Go(func() {
					t := time.NewTicker(time.Millisecond)
					defer t.Stop()
					for {
						if h := heapBytes(); h > maxSeen.Load() {
							maxSeen.Store(h)
						}
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				})
				rep, err := sw.RunOnce(b.Context())
				close(stop)
				wg.Wait()
				if err != nil || rep.Installs != n {
					b.Fatalf("sweep: %+v, %v", rep, err)
				}
				if m := maxSeen.Load(); m > base && m-base > peak {
					peak = m - base
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// heapBytes reads the bytes of live and not-yet-swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var _ storage.Store = (*bunstore.Store)(nil)
