package adminhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// listCounter counts the upstream listings a handler asks its store for.
type listCounter struct {
	storage.Store
	mu         sync.Mutex
	lists      int // ListUpstreams calls
	rows       int // upstreams they returned
	repoLists  int // ListRepositoryUpstreams calls
	failingArg []bool
}

func (s *listCounter) ListUpstreams(ctx context.Context, p storage.ListUpstreamsParams) ([]tracking.Upstream, error) {
	ups, err := s.Store.ListUpstreams(ctx, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	s.rows += len(ups)
	s.failingArg = append(s.failingArg, p.Failing)
	return ups, err
}

func (s *listCounter) ListRepositoryUpstreams(ctx context.Context, p storage.ListRepositoryUpstreamsParams) ([]tracking.Upstream, error) {
	s.mu.Lock()
	s.repoLists++
	s.mu.Unlock()
	return s.Store.ListRepositoryUpstreams(ctx, p)
}

func (s *listCounter) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists, s.rows, s.repoLists, s.failingArg = 0, 0, 0, nil
}

// healthSource is the source of seeded upstream i.
func healthSource(i int) string { return fmt.Sprintf("github://acme/p%05d", i) }

// seedUpstreams records one install on each of n upstreams, then fails
// the upstreams failing names, failures[i] times each.
func seedUpstreams(t testing.TB, s storage.Store, n int, failing map[int]int) {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	ref, err := tracking.ParseRef("branch:main")
	require.NoError(t, err)
	for i := range n {
		src, err := tracking.ParseSource(healthSource(i))
		require.NoError(t, err)
		_, err = s.UpsertInstall(ctx, tracking.Install{
			WorkspaceID: "ws", PluginName: fmt.Sprintf("p%05d", i), Source: src, Ref: ref,
			InstalledSHA: strings.Repeat("a", 40), UpdatedAt: at,
		})
		require.NoError(t, err)
		for range failing[i] {
			require.NoError(t, s.RecordUpstreamFailure(ctx, tracking.UpstreamKey{Source: src, Ref: ref}, "git: connection refused", at))
		}
	}
}

// healthPage serves GET /admin/?view=upstreams&… from a handler on s.
func healthPage(t *testing.T, s storage.Store, query string) string {
	t.Helper()
	up, err := drift.NewUpdater(s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, nil)
	require.NoError(t, err)
	h, err := adminhttp.NewHandler(adminhttp.Config{Updater: up, Store: s, Authorize: bearerAuthorize, Now: benchNow})
	require.NoError(t, err)
	r := httptest.NewRequestWithContext(t.Context(), "GET", "/admin/?view=upstreams"+query, nil)
	r.Header.Set("Authorization", "Bearer alice-token")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	return section(w.Body.String(), "upstreams")
}

// TestHealthTabReadsWhatItShows: among 5,000 healthy upstreams, the 3
// failing ones come first, most failures first, and the tab reads two
// pages of the store (the failing list, then one page to fill the rest),
// not every upstream.
func TestHealthTabReadsWhatItShows(t *testing.T) {
	s := &listCounter{Store: memstore.New()}
	seedUpstreams(t, s, 5003, map[int]int{4000: 1, 17: 3, 2500: 2})
	s.reset()
	html := healthPage(t, s, "")

	assert.LessOrEqual(t, s.lists, 2, "ListUpstreams calls")
	assert.LessOrEqual(t, s.rows, 2*201, "upstreams read")
	assert.Contains(t, s.failingArg, true, "the failing upstreams come from the store's Failing list")
	assert.Contains(t, html, ">3 failing;", "the store's count")
	assert.Equal(t, 200, strings.Count(html, "<tr class="), "rows shown")
	rows := strings.Split(html, "<tr class=")[1:]
	for i, want := range []string{healthSource(17), healthSource(2500), healthSource(4000)} {
		assert.Contains(t, rows[i], `class="mono">`+want+`<`, "row %d", i)
		assert.Contains(t, rows[i], `"failing"`, "row %d", i)
	}
	assert.NotContains(t, rows[3], `"failing"`, "healthy after the failing ones")
	assert.Contains(t, rows[3], healthSource(0), "then the first healthy ones")
	assert.Contains(t, html, "more upstreams exist than are listed here", "the rest is not counted, but said")
	assert.NotRegexp(t, `and \d+ more`, html, "no count that would need a scan")
}

// TestHealthTabManyFailing: with more failing upstreams than rows, every
// row is a failing one and the tab says more exist.
func TestHealthTabManyFailing(t *testing.T) {
	s := &listCounter{Store: memstore.New()}
	failing := map[int]int{}
	for i := range 205 {
		failing[2*i] = 1
	}
	failing[300] = 4
	seedUpstreams(t, s, 500, failing)
	s.reset()
	html := healthPage(t, s, "")

	assert.LessOrEqual(t, s.lists, 2, "ListUpstreams calls")
	assert.Contains(t, html, ">205 failing;")
	assert.Equal(t, 200, strings.Count(html, `<tr class="failing">`), "every row shown is failing")
	assert.Contains(t, strings.Split(html, "<tr class=")[1], healthSource(300), "most failures first")
	assert.Contains(t, html, "more upstreams exist than are listed here")
}

// TestHealthTabSmallNothingHidden: when every upstream fits, nothing is
// said to be hidden.
func TestHealthTabSmallNothingHidden(t *testing.T) {
	for _, n := range []int{3, 200} {
		s := &listCounter{Store: memstore.New()}
		seedUpstreams(t, s, n, map[int]int{1: 1})
		html := healthPage(t, s, "")
		assert.Equal(t, n, strings.Count(html, "<tr class="), "%d upstreams", n)
		assert.NotContains(t, html, `class="more"`, "%d upstreams", n)
	}
}

// TestHealthTabSourceFilter: the source filter reads that source's
// repository through the store's repository index, not the upstream
// listing, and counts only its failing upstreams.
func TestHealthTabSourceFilter(t *testing.T) {
	s := &listCounter{Store: memstore.New()}
	seedUpstreams(t, s, 300, map[int]int{7: 2, 8: 1})
	// A second ref of the same source, and the same repository under
	// another source spelling, which the filter leaves out.
	for _, in := range []struct{ source, ref, plugin string }{
		{healthSource(7), "tag:latest", "other-ref"},
		{"git+https://github.com/acme/p00007.git", "branch:main", "other-spelling"},
	} {
		src, err := tracking.ParseSource(in.source)
		require.NoError(t, err)
		ref, err := tracking.ParseRef(in.ref)
		require.NoError(t, err)
		_, err = s.UpsertInstall(t.Context(), tracking.Install{
			WorkspaceID: "ws", PluginName: in.plugin, Source: src, Ref: ref,
			InstalledSHA: strings.Repeat("b", 40), UpdatedAt: benchNow(),
		})
		require.NoError(t, err)
	}
	s.reset()
	html := healthPage(t, s, "&source="+healthSource(7))

	assert.Zero(t, s.lists, "no ListUpstreams scan")
	assert.Equal(t, 1, s.repoLists, "one read of the repository's upstreams")
	assert.Contains(t, html, ">1 failing;", "only the source's failing upstreams")
	rows := strings.Split(html, "<tr class=")[1:]
	require.Len(t, rows, 2, "the source's two refs, not the other spelling")
	assert.Contains(t, rows[0], `"failing"`)
	assert.Contains(t, rows[0], "branch:main")
	assert.Contains(t, rows[1], "tag:latest")
	assert.NotContains(t, html, "git+https://github.com/acme/p00007.git")
	assert.NotContains(t, html, `class="more"`)

	// A source nobody tracks lists nothing.
	html = healthPage(t, s, "&source=github://acme/none")
	assert.Contains(t, html, "No upstreams are tracked for that source.")
}

// BenchmarkHealthTab measures GET /admin/?view=upstreams with 10,000
// upstreams, 3 of them failing: one request at a time, the handler
// called directly. See BENCHMARKS.md for the command.
func BenchmarkHealthTab(b *testing.B) {
	const n = 10_000
	failing := map[int]int{17: 3, 2500: 2, 9000: 1}
	var sqlite, mem storage.Store
	parent := b
	for _, bc := range []struct {
		name string
		open func() storage.Store
	}{
		{"sqlite", func() storage.Store {
			if sqlite == nil {
				ctx := context.Background()
				s, err := bunstore.Open(ctx, "sqlite://"+filepath.Join(parent.TempDir(), "health.db"), nil)
				require.NoError(parent, err)
				parent.Cleanup(func() { _ = s.Close() })
				require.NoError(parent, s.Migrate(ctx))
				seedUpstreams(parent, s, n, failing)
				sqlite = s
			}
			return sqlite
		}},
		{"memstore", func() storage.Store {
			if mem == nil {
				mem = memstore.New()
				seedUpstreams(parent, mem, n, failing)
			}
			return mem
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.open()
			up, err := drift.NewUpdater(s, drift.InstallerFunc(func(context.Context, drift.InstallRequest) error { return nil }), nil, nil)
			require.NoError(b, err)
			h, err := adminhttp.NewHandler(adminhttp.Config{Updater: up, Store: s, Authorize: bearerAuthorize, Now: benchNow})
			require.NoError(b, err)
			for b.Loop() {
				r := httptest.NewRequestWithContext(b.Context(), "GET", "/admin/?view=upstreams", nil)
				r.Header.Set("Authorization", "Bearer alice-token")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "github://acme/p00017") {
					b.Fatalf("status %d, or the failing upstream is not listed", w.Code)
				}
			}
		})
	}
}
