package reliability_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/resolver"
)

// stallingResolver stops the at'th resolution until proceed is closed,
// after telling reached; the others go on meanwhile.
type stallingResolver struct {
	resolver.Resolver
	at               int
	reached, proceed chan struct{}

	mu    sync.Mutex
	calls int
}

func (r *stallingResolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	r.mu.Lock()
	r.calls++
	n := r.calls
	r.mu.Unlock()
	if n == r.at {
		close(r.reached)
		<-r.proceed
	}
	return r.Resolver.Resolve(ctx, req)
}

// TestPostgresRestartMidSweep restarts Postgres while a sweep's writes are
// under way. The sweep must fail with an error, its report must count
// exactly what it committed, each upstream must be reconciled completely
// or not at all, and the next sweep must succeed on the same Store and
// queue everything that was left.
func TestPostgresRestartMidSweep(t *testing.T) {
	upstreams, perUpstream := size(12, 100), size(3, 10)
	store, _ := newStore(t)
	f := newFarm(t, upstreams)
	seedInstalls(t, store, f, perUpstream)
	for i := range f.len() {
		f.move(i, true)
	}
	res := &stallingResolver{Resolver: mustGitcli(t), at: 4, reached: make(chan struct{}), proceed: make(chan struct{})}
	s, err := drift.NewSweeper(store, res, &drift.SweeperConfig{Concurrency: 2, Holder: "sweeper", LeaseTTL: 10 * time.Second})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()

	type result struct {
		rep drift.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := s.RunOnce(ctx)
		done <- result{rep, err}
	}()
	select {
	case <-res.reached:
	case r := <-done:
		t.Fatalf("the sweep ended before its 4th resolution: %+v, %v", r.rep, r.err)
	}
	pgtest.Stop(t) // the other resolver and the writers go on meanwhile
	close(res.proceed)
	first := <-done
	pgtest.Start(t)

	t.Logf("the sweep cut short by the restart: %v; report %+v", first.err, first.rep)
	require.Error(t, first.err, "a sweep whose store went away fails")
	reconciled := checkUpstreamsAtomic(t, store, f, perUpstream)
	assert.Equal(t, reconciled*perUpstream, first.rep.Queued, "the report counts exactly what was committed")
	assert.Less(t, reconciled, upstreams)

	rep, err := s.RunOnce(ctx)
	require.NoError(t, err, "the sweep after the restart succeeds on the same Store")
	assert.Equal(t, (upstreams-reconciled)*perUpstream, rep.Queued, "and queues everything that was left")
	assert.Zero(t, rep.Failed, "%+v", rep.Errors)
	checkDrift(t, store, f)
	checkOneOpen(t, allEntries(t, store))
}

// Faults the proxy in front of the git server injects, by repository.
const (
	faultStatus500 = "500"
	faultHang      = "hang"
	faultClose     = "close"
)

// faultProxy forwards to the smart HTTP server, except for the repositories
// it has a fault for: it answers those 500, never answers (until the
// client goes away), or closes the connection without answering. It
// counts the requests for each repository.
type faultProxy struct {
	backend *httputil.ReverseProxy
	faults  map[string]string // repository name → fault
	stop    chan struct{}

	mu       sync.Mutex
	requests map[string]int
}

// startFaultProxy serves a faultProxy for f on loopback and points f's
// sources at it.
func startFaultProxy(t *testing.T, f *farm, faults map[string]string) *faultProxy {
	t.Helper()
	target, err := url.Parse(f.backend)
	require.NoError(t, err)
	p := &faultProxy{backend: httputil.NewSingleHostReverseProxy(target), faults: faults, stop: make(chan struct{}), requests: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(p.stop) }) // runs first: hanging handlers return
	f.setURL(srv.URL)
	return p
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	repo = strings.TrimSuffix(repo, ".git")
	p.mu.Lock()
	p.requests[repo]++
	p.mu.Unlock()
	switch p.faults[repo] {
	case faultStatus500:
		http.Error(w, "injected failure", http.StatusInternalServerError)
	case faultHang:
		select {
		case <-r.Context().Done():
		case <-p.stop:
		}
	case faultClose:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	default:
		p.backend.ServeHTTP(w, r)
	}
}

func (p *faultProxy) requestsFor(repo string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[repo]
}

// TestFailingGitUpstreams puts a third of the git upstreams behind faults:
// a 500, a server that never answers, a server that closes the
// connection. Those must fail and be recorded on their upstream rows, the
// rest must be reconciled, and the sweep must end within the bound the
// Sweeper documents: what a sweep without them takes, plus
// ceil(hanging/Concurrency) × ResolveTimeout. The next sweep leaves the
// failing ones alone (backoff) without a request to them.
func TestFailingGitUpstreams(t *testing.T) {
	upstreams, perUpstream := size(21, 200), 2
	// The timeout is far above what a healthy ls-remote takes (tens of
	// milliseconds; several seconds on a machine whose load average is
	// ten times its cores, where 5 s once timed out half the healthy
	// ones), so that only the hanging upstreams meet it.
	resolveTimeout, concurrency := size(15*time.Second, 20*time.Second), 8
	store, _ := newStore(t)
	f := newFarm(t, upstreams)
	faults := map[string]string{}
	hanging := 0
	for i := range f.len() {
		if i%3 == 0 {
			kind := []string{faultStatus500, faultHang, faultClose}[(i/3)%3]
			faults[f.name(i)] = kind
			if kind == faultHang {
				hanging++
			}
		}
	}
	proxy := startFaultProxy(t, f, faults)
	seedInstalls(t, store, f, perUpstream)
	for i := range f.len() {
		f.move(i, true)
	}
	s, err := drift.NewSweeper(store, mustGitcli(t), &drift.SweeperConfig{
		Concurrency: concurrency, ResolveTimeout: resolveTimeout,
		// Longer than any sweep here, so the second sweep meets them all
		// still backing off.
		Backoff: func(int) time.Duration { return time.Hour },
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), size(3*time.Minute, 20*time.Minute))
	defer cancel()

	rep, err := s.RunOnce(ctx)
	require.NoError(t, err, "failing upstreams fail the upstreams, not the sweep")
	healthy := upstreams - len(faults)
	assert.Equal(t, len(faults), rep.Failed)
	assert.Equal(t, healthy, rep.Resolved)
	assert.Equal(t, healthy*perUpstream, rep.Queued)
	assert.Len(t, rep.Errors, len(faults))
	for i := range f.len() {
		kind, faulty := faults[f.name(i)]
		up, err := store.GetUpstream(ctx, f.key(i))
		require.NoError(t, err)
		if !faulty {
			assert.Equal(t, f.want(i), up.LastSHA, "%s", f.key(i))
			continue
		}
		assert.Equal(t, 1, up.ConsecutiveFailures, "%s (%s) is recorded as failing", f.key(i), kind)
		assert.NotEmpty(t, up.LastError, "%s (%s)", f.key(i), kind)
		assert.Empty(t, up.LastSHA, "%s (%s)", f.key(i), kind)
		if kind == faultHang {
			assert.Contains(t, up.LastError, "timed out", "%s: a hanging upstream says it timed out", f.key(i))
		}
	}
	entries := allEntries(t, store)
	for _, e := range entries {
		assert.NotContains(t, faults, e.PluginName, "nothing is queued for a failing upstream")
	}

	before := map[string]int{}
	for name := range faults {
		before[name] = proxy.requestsFor(name)
	}
	again, err := s.RunOnce(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(faults), again.Deferred, "failing upstreams back off")
	assert.Equal(t, healthy, again.Resolved)
	assert.Zero(t, again.Queued, "nothing moved since")
	for name := range faults {
		assert.Equal(t, before[name], proxy.requestsFor(name), "no request to %s while it backs off", name)
	}

	// The bound: the second sweep resolves the healthy ones alone.
	waves := (hanging + concurrency - 1) / concurrency
	bound := again.Duration + time.Duration(waves)*resolveTimeout + 10*time.Second
	t.Logf("%d upstreams (%d failing: %d answering 500, %d hanging, %d closing): the sweep took %s, one without the failing ones %s, bound %s",
		upstreams, len(faults), count(faults, faultStatus500), hanging, count(faults, faultClose), rep.Duration.Round(time.Millisecond), again.Duration.Round(time.Millisecond), bound.Round(time.Millisecond))
	assert.Less(t, rep.Duration, bound, "the sweep ends within the documented bound")
	assert.GreaterOrEqual(t, rep.Duration, resolveTimeout, "it did wait for the hanging upstreams")
}

func count(faults map[string]string, kind string) int {
	n := 0
	for _, k := range faults {
		if k == kind {
			n++
		}
	}
	return n
}
