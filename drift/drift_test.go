package drift_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// clock is the tests' injected clock.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)) }

// fakeResolver answers from a table it can change, and counts calls.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string]resolver.Result // key: source + " " + ref
	errs    map[string]error
	calls   map[string]int
	hook    func(ctx context.Context, req resolver.Request) error
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{answers: map[string]resolver.Result{}, errs: map[string]error{}, calls: map[string]int{}}
}

func reqKey(src tracking.Source, ref tracking.Ref) string { return src.String() + " " + ref.String() }

func (f *fakeResolver) set(src, ref, sha, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := reqKey(mustSource(src), mustRef(ref))
	f.answers[k] = resolver.Result{SHA: sha, Version: version}
	delete(f.errs, k)
}

func (f *fakeResolver) fail(src, ref string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[reqKey(mustSource(src), mustRef(ref))] = err
}

func (f *fakeResolver) totalCalls() (n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeResolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	f.mu.Lock()
	k := reqKey(req.Source, req.Ref)
	f.calls[k]++
	hook := f.hook
	res, ok := f.answers[k]
	err := f.errs[k]
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, req); err != nil {
			return resolver.Result{}, err
		}
	}
	if err != nil {
		return resolver.Result{}, err
	}
	if !ok {
		return resolver.Result{}, fmt.Errorf("fake: %s: %w", k, resolver.ErrNotFound)
	}
	if req.Known.SHA == res.SHA {
		res.Unchanged = true
	}
	return res, nil
}

func mustSource(s string) tracking.Source {
	src, err := tracking.ParseSource(s)
	if err != nil {
		panic(err)
	}
	return src
}

func mustRef(s string) tracking.Ref {
	r, err := tracking.ParseRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

func sha(n int) string { return fmt.Sprintf("%040x", n) }

// storeFactories lists the backends the drift tests run on.
var storeFactories = []struct {
	name string
	new  func(t *testing.T) storage.Store
}{
	{"memstore", func(t *testing.T) storage.Store { return memstore.New() }},
	{"sqlite", func(t *testing.T) storage.Store {
		return openBunstore(t, "sqlite://"+filepath.Join(t.TempDir(), "drift.db"))
	}},
	{"postgres", func(t *testing.T) storage.Store { return openBunstore(t, pgtest.NewDatabase(t)) }},
}

func openBunstore(t *testing.T, dsn string) storage.Store {
	t.Helper()
	s, err := bunstore.Open(t.Context(), dsn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Migrate(t.Context()))
	return s
}

func TestMain(m *testing.M) { pgtest.Main(m) }

func eachStore(t *testing.T, f func(t *testing.T, s storage.Store)) {
	for _, sf := range storeFactories {
		t.Run(sf.name, func(t *testing.T) { f(t, sf.new(t)) })
	}
}

func mustTracker(t testing.TB, s storage.Store, cfg *tracking.TrackerConfig) *tracking.Tracker {
	t.Helper()
	tr, err := tracking.NewTracker(s, cfg)
	require.NoError(t, err)
	return tr
}

// record installs workspace/plugin at commit following ref on src.
func record(t *testing.T, s storage.Store, c *clock, ws, plugin, src, ref, commit, version string) {
	t.Helper()
	_, err := mustTracker(t, s, &tracking.TrackerConfig{Now: c.Now}).RecordInstall(t.Context(), tracking.InstallRecord{
		WorkspaceID: ws, PluginName: plugin, Source: src, Ref: ref, SHA: commit, Version: version,
	})
	require.NoError(t, err)
}

func pending(t *testing.T, s storage.Store) []tracking.Update {
	t.Helper()
	us, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending, tracking.StatusApplying}, Limit: storage.MaxLimit})
	require.NoError(t, err)
	return us
}

func allUpdates(t *testing.T, s storage.Store) []tracking.Update {
	t.Helper()
	var out []tracking.Update
	var after int64
	for {
		us, err := s.ListUpdates(t.Context(), storage.ListUpdatesParams{AfterID: after, Limit: storage.MaxLimit})
		require.NoError(t, err)
		out = append(out, us...)
		if len(us) < storage.MaxLimit {
			return out
		}
		after = us[len(us)-1].ID
	}
}

// requireOneOpenPerInstall checks the invariant over the whole queue.
func requireOneOpenPerInstall(t *testing.T, s storage.Store) {
	t.Helper()
	seen := map[string]int64{}
	for _, u := range allUpdates(t, s) {
		if !u.Status.Open() {
			continue
		}
		k := u.WorkspaceID + "/" + u.PluginName
		require.Zero(t, seen[k], "two open entries for %s: %d and %d", k, seen[k], u.ID)
		seen[k] = u.ID
	}
}

const (
	srcA = "git+https://git.example.com/acme/a.git"
	srcB = "git+https://other.example.org/b.git"
)

func newStoreForSchedule() storage.Store { return memstore.New() }
