package adminhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// replica is one process of a host behind a load balancer: its own
// Sweeper and admin handler, on the store every replica shares.
func replica(t *testing.T, s storage.Store, res resolver.Resolver, c *fakeclock.Clock, holder string) (*drift.Sweeper, *env) {
	t.Helper()
	sw, err := drift.NewSweeper(s, res, &drift.SweeperConfig{Now: c.Now, Holder: holder, Concurrency: 1})
	require.NoError(t, err)
	up, err := drift.NewUpdater(s, &fakeInstaller{}, &fakeRestarter{}, &drift.UpdaterConfig{Now: c.Now})
	require.NoError(t, err)
	h, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: up, Sweeper: sw, Store: s, Authorize: bearerAuthorize, Now: c.Now, SweepWait: time.Millisecond,
	})
	require.NoError(t, err)
	return sw, &env{t: t, handler: h}
}

// TestSweepsLatestFromAnyReplica: replica A runs the sweep that a POST
// asked for; the follow-up GET of its Location, and the page, served by
// replica B, answer with A's sweep: first the one before it while it
// runs, then its report once it is done.
func TestSweepsLatestFromAnyReplica(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) storage.Store{
		"memstore": func(*testing.T) storage.Store { return memstore.New() },
		"sqlite": func(t *testing.T) storage.Store {
			s, err := bunstore.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "replicas.db"), nil)
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			require.NoError(t, s.Migrate(t.Context()))
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			c := fakeclock.New(time.Date(2031, 3, 4, 9, 0, 0, 0, time.UTC))
			res := &fakeResolver{answers: map[string]resolver.Result{}, errs: map[string]error{}}
			tr := mustTracker(t, s, c.Now)
			for i, src := range []string{"github://acme/one", "git+https://" + slowHost + "/two.git"} {
				_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{
					WorkspaceID: "ws", PluginName: fmt.Sprintf("p%d", i), Source: src, Ref: "branch:main", SHA: shaHex(i),
				})
				require.NoError(t, err)
				res.set(src, "branch:main", shaHex(10+i), "")
			}
			swA, a := replica(t, s, res, c, "replica-a")
			_, b := replica(t, s, res, c, "replica-b")
			latest := func(e *env) sweepBody {
				t.Helper()
				w := e.do(req{method: "GET", path: path("/sweeps/latest")})
				require.Equal(t, http.StatusOK, w.Code, w.Body.String())
				return decode[sweepBody](t, w)
			}
			assert.Equal(t, "none", latest(b).Sweep.State, "nobody swept yet")

			// A first sweep, on A, that ends within SweepWait's reach.
			_, err := swA.RunOnce(t.Context())
			require.NoError(t, err)
			first := latest(b).Sweep
			assert.Equal(t, "done", first.State, "B answers with A's sweep")
			assert.Equal(t, "2031-03-04T09:00:00Z", *first.StartedAt)
			assert.Equal(t, float64(2), first.Report["queued"])
			assert.Equal(t, latest(a), latest(b), "both replicas answer the same")

			// The next one hangs on the slow upstream: A answers 202.
			entered, release := make(chan struct{}, 1), make(chan struct{})
			res.hook = func(ctx context.Context, req resolver.Request) error {
				if !strings.Contains(req.Source.String(), slowHost) {
					return nil
				}
				entered <- struct{}{}
				select {
				case <-release:
					return fmt.Errorf("%s does not answer: %w", slowHost, resolver.ErrNotFound)
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			c.Advance(time.Hour)
			w := a.do(req{method: "POST", path: path("/sweeps")})
			require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
			loc := w.Header().Get("Location")
			assert.Equal(t, path("/sweeps/latest"), loc)
			started := *decode[sweepBody](t, w).Sweep.StartedAt
			assert.Equal(t, "2031-03-04T10:00:00Z", started)
			within(t, entered, "the hanging resolution")
			assert.Equal(t, first, latest(b).Sweep, "while A sweeps, B knows the sweep before it")
			assert.Equal(t, "running", latest(a).Sweep.State)

			run := swA.Trigger() // joins the running sweep, to know when it ends
			c.Advance(time.Minute)
			close(release)
			within(t, run.Done(), "the end of the sweep")

			wb := b.do(req{method: "GET", path: loc})
			require.Equal(t, http.StatusOK, wb.Code, wb.Body.String())
			done := decode[sweepBody](t, wb).Sweep
			assert.Equal(t, "done", done.State)
			assert.Equal(t, started, *done.StartedAt, "the sweep the POST started")
			assert.Equal(t, "2031-03-04T10:01:00Z", *done.FinishedAt)
			assert.Equal(t, float64(1), done.Report["failed"])
			assert.Equal(t, []any{map[string]any{"source": "git+https://" + slowHost + "/two.git", "ref": "branch:main", "error": slowHost + " does not answer: resolver: not found"}},
				done.Report["errors"])
			assert.Equal(t, latest(a), latest(b))

			last := section(b.page(""), "last-sweep")
			assert.Contains(t, last, `Finished <time datetime="2031-03-04T10:01:00Z"`)
			assert.Contains(t, last, "<dt>Failed</dt><dd>1</dd>")
			assert.Contains(t, last, slowHost+" does not answer")
		})
	}
}
