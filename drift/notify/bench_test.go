package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/drift/notify"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// benchStore is a migrated SQLite file store with n installs, one per
// upstream (so each Reconcile queues exactly one entry: one event).
func benchStore(b *testing.B, n int) (*bunstore.Store, []tracking.UpstreamKey) {
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
	ref, _ := tracking.ParseRef("branch:main")
	keys := make([]tracking.UpstreamKey, n)
	ins := make([]tracking.Install, n)
	for i := range n {
		src, err := tracking.ParseSource(fmt.Sprintf("github://bench/p%06d", i))
		if err != nil {
			b.Fatal(err)
		}
		keys[i] = tracking.UpstreamKey{Source: src, Ref: ref}
		ins[i] = tracking.Install{WorkspaceID: "ws", PluginName: fmt.Sprintf("p%06d", i), Source: src, Ref: ref,
			InstalledSHA: strings.Repeat("a", 40), UpdatedAt: now}
	}
	if err := s.ImportInstalls(ctx, ins); err != nil {
		b.Fatal(err)
	}
	return s, keys
}

// countingReceiver verifies signatures and tells when each event arrived.
type countingReceiver struct {
	verifyingReceiver
	mu      sync.Mutex
	arrived map[string]time.Time // plugin name → first arrival
	all     chan struct{}
	want    int
}

func (c *countingReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorderWriter{ResponseWriter: w}
	c.verifyingReceiver.ServeHTTP(rec, r)
	if rec.status != http.StatusNoContent {
		return
	}
	c.verifyingReceiver.mu.Lock()
	env := c.verifyingReceiver.got[len(c.verifyingReceiver.got)-1]
	c.verifyingReceiver.got = c.verifyingReceiver.got[:0] // keep memory flat
	c.verifyingReceiver.mu.Unlock()
	plugin := env["data"].(map[string]any)["plugin_name"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.arrived[plugin]; !ok {
		c.arrived[plugin] = time.Now()
		if len(c.arrived) == c.want {
			close(c.all)
		}
	}
}

type recorderWriter struct {
	http.ResponseWriter
	status int
}

func (r *recorderWriter) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func newCounting(want int) (*countingReceiver, *httptest.Server) {
	c := &countingReceiver{verifyingReceiver: verifyingReceiver{key: key}, arrived: map[string]time.Time{}, all: make(chan struct{}), want: want}
	return c, httptest.NewTLSServer(c)
}

func benchDispatcher(b *testing.B, s storage.Store, srv *httptest.Server) *drift.Dispatcher {
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL, Secret: secret, Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	d, err := drift.NewDispatcher(s, []drift.Subscriber{{Name: "webhook", Deliver: hook.Deliver}},
		&drift.DispatcherConfig{PollInterval: 20 * time.Millisecond, BatchSize: 500})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkDeliveryLatency writes 10,000 events at up to 1,000 per second
// (one Reconcile each, on SQLite, by four writers; writes/s is the rate reached) while a
// Dispatcher delivers them to a local webhook receiver over TLS, and
// reports the latency from the write's commit to the receiver, p50 and
// p99. The Dispatcher polls every 20 ms.
func BenchmarkDeliveryLatency(b *testing.B) {
	const rate, total = 1000, 10_000
	for range b.N {
		s, keys := benchStore(b, total)
		rcv, srv := newCounting(total)
		d := benchDispatcher(b, s, srv)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx) }()

		committed := make([]time.Time, total)
		tick := time.NewTicker(time.Second / rate)
		b.ResetTimer()
		start := time.Now()
		// The ticker paces the writes; four writers keep up with it.
		work := make(chan int)
		var writers sync.WaitGroup
		for range 4 {
			writers.Go(func() {
				for i := range work {
					if _, err := s.Reconcile(ctx, storage.ReconcileParams{Key: keys[i], SHA: strings.Repeat("b", 40), Now: now}); err != nil {
						b.Error(err)
					}
					committed[i] = time.Now()
				}
			})
		}
		for i := range keys {
			<-tick.C
			work <- i
		}
		close(work)
		writers.Wait()
		tick.Stop()
		b.ReportMetric(total/time.Since(start).Seconds(), "writes/s")
		select {
		case <-rcv.all:
		case <-time.After(5 * time.Minute):
			b.Fatal("not everything arrived")
		}
		b.StopTimer()
		cancel()
		<-done
		srv.Close()
		lat := make([]time.Duration, total)
		for i := range keys {
			lat[i] = rcv.arrived[fmt.Sprintf("p%06d", i)].Sub(committed[i])
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[total/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[total*99/100].Microseconds())/1000, "p99-ms")
	}
}

// BenchmarkDrain writes a backlog of 100,000 events, then times a
// Dispatcher delivering all of them to a local webhook receiver.
func BenchmarkDrain(b *testing.B) {
	const total = 100_000
	for range b.N {
		b.StopTimer()
		s, keys := benchStore(b, total)
		ctx := context.Background()
		for _, k := range keys {
			if _, err := s.Reconcile(ctx, storage.ReconcileParams{Key: k, SHA: strings.Repeat("b", 40), Now: now}); err != nil {
				b.Fatal(err)
			}
		}
		rcv, srv := newCounting(total)
		d := benchDispatcher(b, s, srv)
		b.StartTimer()
		start := time.Now()
		rep, err := d.RunOnce(ctx)
		if err != nil || rep.Delivered != total {
			b.Fatalf("drain: %+v, %v", rep, err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		srv.Close()
		<-rcv.all
		b.ReportMetric(elapsed.Seconds(), "drain-s")
		b.ReportMetric(total/elapsed.Seconds(), "events/s")
	}
}
