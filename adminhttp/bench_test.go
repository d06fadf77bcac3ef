package adminhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

const (
	benchPending = 10_000
	benchClients = 32
)

// BenchmarkListUpdates measures GET /admin/plugin-updates?limit=50 over
// loopback HTTP with 10,000 pending entries, from 32 concurrent clients,
// and reports the p50 and p99 latency of one request. See BENCHMARKS.md.
func BenchmarkListUpdates(b *testing.B) {
	// The stores are seeded once: the testing package calls each
	// sub-benchmark function more than once.
	var sqlite, mem storage.Store
	parent := b
	b.Run("sqlite", func(b *testing.B) {
		if sqlite == nil {
			sqlite = openSQLite(parent)
		}
		benchListUpdates(b, sqlite)
	})
	b.Run("memstore", func(b *testing.B) {
		if mem == nil {
			mem = seedPending(b, memstore.New())
		}
		benchListUpdates(b, mem)
	})
}

// openSQLite opens a seeded SQLite store that lives as long as b.
func openSQLite(b *testing.B) storage.Store {
	b.Helper()
	ctx := context.Background()
	s, err := bunstore.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return seedPending(b, s)
}

func benchListUpdates(b *testing.B, s storage.Store) {
	ctx := b.Context()

	up, err := drift.NewUpdater(s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	h, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: up,
		Store:   s, Authorize: bearerAuthorize, Now: benchNow,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * benchClients}}
	defer client.CloseIdleConnections()
	url := srv.URL + "/admin/plugin-updates?limit=50"

	get := func() error {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Authorization", "Bearer alice-token")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	checkFirstPage(b, client, url)

	var mu sync.Mutex
	var all []time.Duration
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchClients + procs - 1) / procs)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := get(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "req/s")
}

func benchNow() time.Time { return time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }

// seedPending queues benchPending entries in s and returns it: as many
// installs follow one upstream, and one reconcile queues them all.
func seedPending(b *testing.B, s storage.Store) storage.Store {
	b.Helper()
	ctx := context.Background()
	tr := mustTracker(b, s, benchNow)
	var in tracking.Install
	var err error
	for i := range benchPending {
		in, err = tr.RecordInstall(ctx, tracking.InstallRecord{
			WorkspaceID: fmt.Sprintf("ws-%05d", i), PluginName: "chat", Source: "github://acme/chat",
			Ref: "tag:latest", SHA: shaHex(1), Version: "v1.0.0",
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	res, err := s.Reconcile(ctx, storage.ReconcileParams{
		Key: tracking.UpstreamKey{Source: in.Source, Ref: in.Ref}, SHA: shaHex(2), Version: "v1.1.0", Now: benchNow(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if res.Queued != benchPending {
		b.Fatalf("queued %d entries, want %d", res.Queued, benchPending)
	}
	return s
}

func checkFirstPage(b *testing.B, client *http.Client, url string) {
	b.Helper()
	req, _ := http.NewRequestWithContext(b.Context(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Updates    []json.RawMessage `json:"updates"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || len(page.Updates) != 50 || page.NextCursor == "" {
		b.Fatalf("first page: status %d, %d updates, next cursor %q", resp.StatusCode, len(page.Updates), page.NextCursor)
	}
}
