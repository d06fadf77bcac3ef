package drift_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestForcePushOfHeadRaisesHistoryRewritten: head (the default branch)
// is rewritable like a named branch (DESIGN §2), so a force-push under an
// install that follows head raises the alarm too.
func TestForcePushOfHeadRaisesHistoryRewritten(t *testing.T) {
	s := memstore.New()
	repos := resolvertest.NewRepos(t)
	git, err := gitcli.New(&gitcli.Config{AllowFile: true, HistoryCacheDir: t.TempDir()})
	require.NoError(t, err)
	c := newClock()
	src := "git+file://" + repos.Path(resolvertest.RepoPlugin)
	record(t, s, c, "ws", "p", src, "head", repos.SHA(resolvertest.RepoPlugin, "refs/heads/main"), "")
	sw := newSweeper(t, s, git, c, nil)
	_, err = sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Empty(t, pending(t, s), "installed at the tip: nothing to queue")

	rewritten := repos.ForcePush(t, resolvertest.RepoPlugin, "main")
	c.Advance(time.Hour)
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, rep.Resolved, "%+v", rep.Errors)
	got := pending(t, s)
	require.Len(t, got, 1)
	assert.Equal(t, tracking.KindHistoryRewritten, got[0].Kind)
	assert.Equal(t, rewritten, got[0].ToSHA)
}

// TestReportCountsSupersededAndIsLogged: DESIGN §6 step 6. An upstream
// that moves twice before a decision supersedes its first entry; the
// report says so and the sweep logs its report.
func TestReportCountsSupersededAndIsLogged(t *testing.T) {
	s := memstore.New()
	c := newClock()
	fake := newFakeResolver()
	record(t, s, c, "ws", "p", srcA, "branch:main", sha(1), "")
	var logs bytes.Buffer
	sw := newSweeper(t, s, fake, c, nil)
	fake.set(srcA, "branch:main", sha(2), "")
	rep, err := sw.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Queued)
	assert.Equal(t, 0, rep.Superseded)

	logged := newSweeper(t, s, fake, c, &drift.SweeperConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	fake.set(srcA, "branch:main", sha(3), "")
	c.Advance(time.Hour)
	rep, err = logged.RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Queued)
	assert.Equal(t, 1, rep.Superseded, "the entry to %s was superseded by the one to %s", sha(2), sha(3))
	assert.Contains(t, logs.String(), "plugindrift: sweep done")
	assert.Contains(t, logs.String(), "queued=1")
	assert.Contains(t, logs.String(), "superseded=1")
}

// noInstallListing is a store whose install listing fails: a sweep must
// not need it (DESIGN §6 step 2: it pages through upstreams, never loads
// all installs).
type noInstallListing struct{ storage.Store }

func (noInstallListing) ListInstalls(context.Context, storage.ListInstallsParams) ([]tracking.Install, error) {
	return nil, errors.New("a sweep listed installs")
}

func TestSweepNeverListsInstalls(t *testing.T) {
	mem := memstore.New()
	c := newClock()
	fake := newFakeResolver()
	for _, p := range []string{"a", "b", "c"} {
		record(t, mem, c, "ws", p, srcA, "branch:main", sha(1), "")
	}
	fake.set(srcA, "branch:main", sha(2), "")
	rep, err := newSweeper(t, noInstallListing{mem}, fake, c, nil).RunOnce(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, rep.Failed, "%+v", rep.Errors)
	assert.Equal(t, 3, rep.Queued)
}
