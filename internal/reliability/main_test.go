package reliability_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/pgtest"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Environment variables read by these tests.
const (
	envLong = "PLUGINDRIFT_RELIABILITY_LONG"
	envSeed = "PLUGINDRIFT_RELIABILITY_SEED"
)

// long reports whether the long versions run.
func long() bool { return os.Getenv(envLong) == "1" }

// size picks the short or the long value of a test parameter.
func size[T any](short, long_ T) T {
	if long() {
		return long_
	}
	return short
}

// newRand returns the test's random source, seeded from envSeed or the
// clock; the seed is logged so that a failure can be replayed.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(envSeed); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, "%s must be an unsigned integer", envSeed)
		seed = n
	}
	t.Logf("seed %d (replay with %s=%d)", seed, envSeed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// newStore returns a migrated bunstore on a new Postgres database, and its
// DSN for the replicas.
func newStore(t *testing.T) (*bunstore.Store, string) {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	store, err := bunstore.Open(ctx, dsn, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	require.NoError(t, store.Migrate(ctx))
	return store, dsn
}

// mustGitcli returns a gitcli resolver with the defaults.
func mustGitcli(t *testing.T) *gitcli.Resolver {
	t.Helper()
	r, err := gitcli.New(nil)
	require.NoError(t, err)
	return r
}

// seedInstalls records perUpstream installs of every repository of f, in
// workspaces ws-00, ws-01, …, at the repository's first commit, following
// the repository's ref (see farm.ref).
func seedInstalls(t *testing.T, store *bunstore.Store, f *farm, perUpstream int) {
	t.Helper()
	tr, err := tracking.NewTracker(store, nil)
	require.NoError(t, err)
	for i := range f.len() {
		for w := range perUpstream {
			_, err := tr.RecordInstall(context.Background(), tracking.InstallRecord{
				WorkspaceID: workspace(w), PluginName: f.name(i),
				Source: f.source(i), Ref: f.ref(i), SHA: f.first(i), Version: "v1.0.0",
			})
			require.NoError(t, err)
		}
	}
}

func workspace(i int) string { return fmt.Sprintf("ws-%02d", i) }
