package reliability_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// Environment of the delivering process TestDeliveryKilledMidDelivery
// starts: this test binary, running only TestDeliveryProcess.
const (
	envDeliveryDSN = "PLUGINDRIFT_DELIVERY_DSN"
	envDeliveryURL = "PLUGINDRIFT_DELIVERY_URL"
)

// receipt is one request the receiver got.
type receipt struct {
	id      int64
	payload string
}

// receiver is the subscriber's far end: it records every request, and
// holds the request for one event open until told to answer.
type receiver struct {
	mu      sync.Mutex
	got     []receipt
	holdID  int64
	held    chan struct{} // closed when the held request arrived
	release chan struct{}
	wasHeld bool
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev tracking.Event
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.got = append(rc.got, receipt{ev.ID, string(ev.Payload)})
	hold := ev.ID == rc.holdID && !rc.wasHeld
	rc.wasHeld = rc.wasHeld || hold
	rc.mu.Unlock()
	if hold {
		close(rc.held)
		<-rc.release // the deliverer is killed meanwhile
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) receipts() []receipt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receipt(nil), rc.got...)
}

// TestDeliveryProcess is the delivering process of
// TestDeliveryKilledMidDelivery; it runs only when started by it.
func TestDeliveryProcess(t *testing.T) {
	dsn, url := os.Getenv(envDeliveryDSN), os.Getenv(envDeliveryURL)
	if dsn == "" {
		t.Skip("started only by TestDeliveryKilledMidDelivery")
	}
	ctx := context.Background()
	store, err := bunstore.Open(ctx, dsn, nil)
	require.NoError(t, err)
	client := &http.Client{Timeout: time.Minute}
	hook := drift.Subscriber{Name: "hook", Deliver: func(ctx context.Context, ev tracking.Event) error {
		body, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("receiver answered %s", resp.Status)
		}
		return nil
	}}
	d, err := drift.NewDispatcher(store, []drift.Subscriber{hook}, &drift.DispatcherConfig{
		PollInterval: 20 * time.Millisecond, LeaseTTL: time.Second, BatchSize: 7, DeliverTimeout: time.Minute,
	})
	require.NoError(t, err)
	_ = d.Run(ctx) // until killed
}

// TestDeliveryKilledMidDelivery kills the delivering process (SIGKILL)
// while the receiver holds one delivery open, writes more events while it
// is gone, restarts it, and finds every event delivered at least once,
// none skipped, in order, and the redelivered one under the same id.
func TestDeliveryKilledMidDelivery(t *testing.T) {
	store, dsn := newStore(t)
	ctx := t.Context()
	const installs = 40
	writeEvents := func(key tracking.UpstreamKey, commit string, at time.Time) {
		t.Helper()
		_, err := store.Reconcile(ctx, storage.ReconcileParams{Key: key, SHA: commit, Now: at})
		require.NoError(t, err)
	}
	src, err := tracking.ParseSource("github://acme/hooked")
	require.NoError(t, err)
	ref, err := tracking.ParseRef("branch:main")
	require.NoError(t, err)
	key := tracking.UpstreamKey{Source: src, Ref: ref}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range installs {
		_, err := store.UpsertInstall(ctx, tracking.Install{WorkspaceID: fmt.Sprintf("ws-%02d", i), PluginName: "p", Source: src, Ref: ref,
			InstalledSHA: fmt.Sprintf("%040x", 1), UpdatedAt: t0})
		require.NoError(t, err)
	}
	writeEvents(key, fmt.Sprintf("%040x", 2), t0.Add(time.Minute)) // 40 queued
	evs, err := store.ListEvents(ctx, storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	require.Len(t, evs, installs)

	rc := &receiver{holdID: evs[17].ID, held: make(chan struct{}), release: make(chan struct{})}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	defer close(rc.release)

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDeliveryProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envDeliveryDSN+"="+dsn, envDeliveryURL+"="+srv.URL)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	first := start()
	select {
	case <-rc.held:
	case <-time.After(2 * time.Minute):
		_ = first.Process.Kill()
		t.Fatal("the delivering process never reached the held event")
	}
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	_ = first.Wait()

	// While nobody delivers: 40 more events (superseded and queued).
	writeEvents(key, fmt.Sprintf("%040x", 3), t0.Add(2*time.Minute))
	all, err := store.ListEvents(ctx, storage.ListEventsParams{Limit: storage.MaxLimit})
	require.NoError(t, err)
	last := all[len(all)-1].ID

	second := start()
	t.Cleanup(func() { _ = second.Process.Kill(); _ = second.Wait() })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		subs, err := store.ListSubscriptions(ctx)
		require.NoError(t, err)
		if len(subs) == 1 && subs[0].AfterID == last {
			break
		}
		require.True(t, time.Now().Before(deadline), "the restarted process did not deliver everything: %+v", subs)
		time.Sleep(50 * time.Millisecond) // a real process delivers; poll its cursor
	}

	got := rc.receipts()
	byID := map[int64][]receipt{}
	var firstSeen []int64
	for _, r := range got {
		if len(byID[r.id]) == 0 {
			firstSeen = append(firstSeen, r.id)
		}
		byID[r.id] = append(byID[r.id], r)
	}
	var want []int64
	for _, ev := range all {
		want = append(want, ev.ID)
		rs := byID[ev.ID]
		if assert.NotEmpty(t, rs, "event %d (%s) was never delivered", ev.ID, ev.Type) {
			for _, r := range rs {
				assert.Equal(t, string(ev.Payload), r.payload, "a redelivery of %d carries the same event", ev.ID)
			}
		}
	}
	assert.Equal(t, want, firstSeen, "delivered in order, none skipped")
	assert.GreaterOrEqual(t, len(byID[rc.holdID]), 2, "the event in flight at the kill is delivered again, under its id")
	t.Logf("%d events, %d deliveries, %d of event %d", len(all), len(got), len(byID[rc.holdID]), rc.holdID)
}
