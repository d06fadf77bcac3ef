package push_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// branchFarm is repos bare repositories of branches branches each, all at
// one commit, served over smart HTTP: upstreams = repos × branches. move
// re-points every branch at a second commit.
type branchFarm struct {
	base          string
	repos         int
	branches      int
	dir, from, to string
}

func farmGit(tb testing.TB, dir string, stdin string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@x.invalid", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@x.invalid",
		"GIT_AUTHOR_DATE=1704067200 +0000", "GIT_COMMITTER_DATE=1704067200 +0000")
	out, err := cmd.CombinedOutput()
	require.NoError(tb, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func newBranchFarm(tb testing.TB, repos, branches int) *branchFarm {
	tb.Helper()
	f := &branchFarm{repos: repos, branches: branches, dir: tb.TempDir()}
	for r := range repos {
		dir := filepath.Join(f.dir, fmt.Sprintf("r%02d.git", r))
		farmGit(tb, f.dir, "", "init", "--quiet", "--bare", "--initial-branch=main", dir)
		tree := farmGit(tb, dir, "", "hash-object", "-t", "tree", "-w", "--stdin")
		from := farmGit(tb, dir, "", "commit-tree", tree, "-m", "from")
		to := farmGit(tb, dir, "", "commit-tree", tree, "-p", from, "-m", "to")
		var refs strings.Builder
		fmt.Fprintf(&refs, "create refs/heads/main %s\n", from)
		for b := range branches {
			fmt.Fprintf(&refs, "create refs/heads/b%03d %s\n", b, from)
		}
		farmGit(tb, dir, refs.String(), "update-ref", "--stdin")
		f.from, f.to = from, to // the same in every repository: same tree, dates and message
	}
	f.base = resolvertest.ServeSmartHTTP(tb, f.dir)
	return f
}

func (f *branchFarm) source(r int) string { return fmt.Sprintf("git+%s/r%02d.git", f.base, r) }

// move re-points every branch of every repository at the second commit.
func (f *branchFarm) move(tb testing.TB) {
	tb.Helper()
	for r := range f.repos {
		var refs strings.Builder
		for b := range f.branches {
			fmt.Fprintf(&refs, "update refs/heads/b%03d %s\n", b, f.to)
		}
		farmGit(tb, filepath.Join(f.dir, fmt.Sprintf("r%02d.git", r)), refs.String(), "update-ref", "--stdin")
	}
}

func (f *branchFarm) key(tb testing.TB, r, b int) tracking.UpstreamKey {
	src, err := tracking.ParseSource(f.source(r))
	require.NoError(tb, err)
	ref, err := tracking.BranchRef(fmt.Sprintf("b%03d", b))
	require.NoError(tb, err)
	return tracking.UpstreamKey{Source: src, Ref: ref}
}

// instantResolver answers every branch with one commit at once: with
// PUSH_BENCH_GIT=0 the benchmark measures plugindrift's own part (the
// receiver, the store and the worker) without git's.
type instantResolver struct{ sha string }

func (r instantResolver) Resolve(context.Context, resolver.Request) (resolver.Result, error) {
	return resolver.Result{SHA: r.sha}, nil
}

// reconcileClock is the store with the time each upstream's Reconcile
// returned: when its entries were queued.
type reconcileClock struct {
	storage.Store
	mu   sync.Mutex
	done map[tracking.UpstreamKey]time.Time
}

func (s *reconcileClock) Reconcile(ctx context.Context, p storage.ReconcileParams) (storage.ReconcileResult, error) {
	res, err := s.Store.Reconcile(ctx, p)
	if err == nil && res.Queued > 0 {
		s.mu.Lock()
		s.done[p.Key] = time.Now()
		s.mu.Unlock()
	}
	return res, err
}

func benchStores(b *testing.B, fn func(b *testing.B, s *bunstore.Store)) {
	for _, c := range []struct {
		name string
		dsn  func() string
	}{
		{"sqlite", func() string { return "sqlite://" + filepath.Join(b.TempDir(), "bench.db") }},
		{"postgres", func() string { return pgtest.NewDatabase(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, err := bunstore.Open(context.Background(), c.dsn(), nil)
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			require.NoError(b, s.Migrate(context.Background()))
			fn(b, s)
		})
	}
}

// genericPush posts a signed generic push and returns how long the
// receiver took to answer 202: the check request was committed then.
func genericPush(tb testing.TB, url, repo, ref string) time.Duration {
	body := []byte(fmt.Sprintf(`{"repository":%q,"ref":%q}`, repo, ref))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(tb, err)
	req.Header.Set(push.GenericSignatureHeader, push.Signature(body, "generic-secret"))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if !assert.NoError(tb, err) {
		return 0
	}
	resp.Body.Close()
	assert.Equal(tb, http.StatusAccepted, resp.StatusCode)
	return time.Since(start)
}

// percentiles reports p50 and p99 of ds as metrics named prefix-p50-ms
// and prefix-p99-ms.
func percentiles(b *testing.B, prefix string, ds []time.Duration) {
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ds[len(ds)/2]), prefix+"-p50-ms")
	b.ReportMetric(ms(ds[len(ds)*99/100]), prefix+"-p99-ms")
}

// BenchmarkPushToQueued measures push → entries queued: from sending a
// signed webhook to the end of the Reconcile that queued the upstream's
// entries, at a steady rate of pushes, each to another upstream, through
// the receiver, the store's check requests, a started CheckWorker and git
// ls-remote over smart HTTP. Sizes come from PUSH_BENCH (see
// BENCHMARKS.md); the default is the issue's: 1,000 upstreams of 100
// installs each, 100 pushes per second, one push per upstream. It also
// reports how long the receiver took to answer 202 (the check request
// committed).
func BenchmarkPushToQueued(b *testing.B) {
	repos, branches, perUpstream, rate, pushes := 10, 100, 100, 100, 0
	if v := os.Getenv("PUSH_BENCH"); v != "" {
		_, err := fmt.Sscanf(v, "%d,%d,%d,%d,%d", &repos, &branches, &perUpstream, &rate, &pushes)
		require.NoError(b, err, "PUSH_BENCH=repos,branches,installs-per-upstream,pushes-per-second,pushes (0: one per upstream)")
	}
	if pushes <= 0 || pushes > repos*branches {
		pushes = repos * branches
	}
	benchStores(b, func(b *testing.B, bs *bunstore.Store) {
		f := newBranchFarm(b, repos, branches)
		var installs []tracking.Install
		for r := range repos {
			for br := range branches {
				k := f.key(b, r, br)
				for w := range perUpstream {
					installs = append(installs, tracking.Install{WorkspaceID: fmt.Sprintf("ws-%03d", w), PluginName: fmt.Sprintf("r%02d-b%03d", r, br),
						Source: k.Source, Ref: k.Ref, InstalledSHA: f.from, UpdatedAt: t0})
				}
			}
		}
		for batch := range slices.Chunk(installs, 10000) {
			require.NoError(b, bs.ImportInstalls(context.Background(), batch))
		}
		f.move(b)
		store := &reconcileClock{Store: bs, done: map[tracking.UpstreamKey]time.Time{}}
		var res resolver.Resolver = instantResolver{sha: f.to}
		if os.Getenv("PUSH_BENCH_GIT") != "0" {
			git, err := gitcli.New(nil)
			require.NoError(b, err)
			res = git
		}
		sw, err := drift.NewSweeper(store, res, nil)
		require.NoError(b, err)
		worker, err := drift.NewCheckWorker(sw, &drift.CheckWorkerConfig{Concurrency: 8})
		require.NoError(b, err)
		h, err := push.NewHandler(push.Config{Store: store, Secrets: secrets, Wake: worker.Wake})
		require.NoError(b, err)
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		require.NoError(b, worker.Start(context.Background()))
		b.Cleanup(worker.Stop)

		n := pushes
		sent := make(map[tracking.UpstreamKey]time.Time, n)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			answers []time.Duration
		)
		b.ResetTimer()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range n {
			<-tick.C
			r, br := i%repos, i/repos
			k := f.key(b, r, br)
			sent[k] = time.Now()
			wg.Go(func() {
				d := genericPush(b, srv.URL, strings.TrimPrefix(f.source(r), "git+"), "refs/heads/"+k.Ref.Name())
				mu.Lock()
				answers = append(answers, d)
				mu.Unlock()
			})
		}
		tick.Stop()
		wg.Wait()
		deadline := time.Now().Add(10 * time.Minute)
		for {
			store.mu.Lock()
			done := len(store.done)
			store.mu.Unlock()
			if done == n {
				break
			}
			require.True(b, time.Now().Before(deadline), "%d of %d upstreams queued", done, n)
			time.Sleep(50 * time.Millisecond) // the worker's goroutines do the work
		}
		b.StopTimer()
		var lat []time.Duration
		for k, at := range sent {
			lat = append(lat, store.done[k].Sub(at))
		}
		percentiles(b, "queued", lat)
		percentiles(b, "answer", answers)
		b.ReportMetric(float64(n), "pushes")
		b.ReportMetric(float64(len(installs)), "installs")
	})
}

// burst posts pushes signed pushes of one branch of one repository from 8
// senders, against a started worker, and returns how many times the
// upstream was resolved once no request is left.
func burst(tb testing.TB, s storage.Store, pushes int, recheck time.Duration) int {
	repos := resolvertest.NewRepos(tb)
	base := resolvertest.ServeSmartHTTP(tb, repos.Dir())
	source := "git+" + base + "/" + resolvertest.RepoPlugin + ".git"
	k := tracking.UpstreamKey{Source: mustSourceTB(tb, source), Ref: mustRefTB(tb, "branch:main")}
	_, err := s.UpsertInstall(context.Background(), tracking.Install{WorkspaceID: "ws", PluginName: "p", Source: k.Source, Ref: k.Ref,
		InstalledSHA: repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.0.0"), UpdatedAt: t0})
	require.NoError(tb, err)
	git, err := gitcli.New(nil)
	require.NoError(tb, err)
	res := &countingResolver{Resolver: git}
	sw, err := drift.NewSweeper(s, res, nil)
	require.NoError(tb, err)
	rounds := make(roundLog, 1000)
	worker, err := drift.NewCheckWorker(sw, &drift.CheckWorkerConfig{RecheckDelay: recheck, Logger: slog.New(rounds)})
	require.NoError(tb, err)
	h, err := push.NewHandler(push.Config{Store: s, Secrets: secrets, Wake: worker.Wake})
	require.NoError(tb, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	require.NoError(tb, worker.Start(context.Background()))
	defer worker.Stop()

	work := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range work {
				genericPush(tb, srv.URL, base+"/plugin.git", "refs/heads/main")
			}
		})
	}
	for range pushes {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	last := time.Now()
	// Done after a round that began after the last push and left nothing
	// for another check: the request is gone.
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case r := <-rounds:
			if r.start.After(last) && r.requests > 0 && r.again == 0 {
				return len(res.take())
			}
		case <-deadline:
			tb.Fatal("the burst's checks never ended")
		}
	}
}

// round is one logged round of a CheckWorker.
type round struct {
	start           time.Time
	requests, again int64
}

// roundLog is a slog handler that sends the worker's rounds.
type roundLog chan round

func (roundLog) Enabled(context.Context, slog.Level) bool { return true }
func (l roundLog) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "plugindrift: push checks done" {
		return nil
	}
	r := round{start: rec.Time}
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "requests":
			r.requests = a.Value.Int64()
		case "again":
			r.again = a.Value.Int64()
		case "duration":
			r.start = rec.Time.Add(-a.Value.Duration())
		}
		return true
	})
	l <- r
	return nil
}
func (l roundLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l roundLog) WithGroup(string) slog.Handler      { return l }

func mustSourceTB(tb testing.TB, s string) tracking.Source {
	src, err := tracking.ParseSource(s)
	require.NoError(tb, err)
	return src
}

func mustRefTB(tb testing.TB, s string) tracking.Ref {
	r, err := tracking.ParseRef(s)
	require.NoError(tb, err)
	return r
}

// TestBurstOfPushesCostsFewChecks: 1,000 pushes to one repository while
// the worker runs cost one resolution per RecheckDelay of the burst, plus
// the first push's: at most three while the burst lasts under twice
// RecheckDelay.
func TestBurstOfPushesCostsFewChecks(t *testing.T) {
	start := time.Now()
	calls := burst(t, memstore.New(), 1000, 2*time.Second)
	t.Logf("1,000 pushes, %d resolutions, in %s", calls, time.Since(start))
	assert.GreaterOrEqual(t, calls, 1)
	assert.LessOrEqual(t, calls, 3, "1,000 pushes")
}

// BenchmarkPushBurst reports the resolver calls a burst of 1,000 pushes
// to one repository costs, with the default RecheckDelay.
func BenchmarkPushBurst(b *testing.B) {
	benchStores(b, func(b *testing.B, s *bunstore.Store) {
		start := time.Now()
		calls := burst(b, s, 1000, 0)
		b.ReportMetric(float64(calls), "resolver-calls")
		b.ReportMetric(time.Since(start).Seconds(), "burst-s")
	})
}
