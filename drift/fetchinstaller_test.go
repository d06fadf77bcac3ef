package drift_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// dirFetcher writes one file naming the commit, or fails.
type dirFetcher struct{ fail error }

func (f dirFetcher) Fetch(_ context.Context, _ tracking.Source, commit, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "COMMIT"), []byte(commit), 0o644); err != nil {
		return err
	}
	return f.fail
}

func TestFetchInstallerSwapsTrees(t *testing.T) {
	root := t.TempDir()
	dirOf := func(ws, p string) string { return filepath.Join(root, ws, p) }
	dir := dirOf("ws", "p")
	installed := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "COMMIT"))
		require.NoError(t, err)
		return string(b)
	}
	onlyTarget := func() {
		t.Helper()
		entries, err := os.ReadDir(filepath.Dir(dir))
		require.NoError(t, err)
		require.Len(t, entries, 1, "only the plugin dir remains")
		info, err := os.Lstat(dir)
		require.NoError(t, err)
		assert.True(t, info.IsDir(), "the target is a plain directory, mode %s", info.Mode())
	}
	req := drift.InstallRequest{WorkspaceID: "ws", PluginName: "p", Source: mustSource(srcA), SHA: sha(7)}
	inst := &drift.FetchInstaller{Fetcher: dirFetcher{}, Dir: dirOf}
	require.NoError(t, inst.Install(t.Context(), req))
	assert.Equal(t, sha(7), installed())
	onlyTarget()

	req.SHA = sha(8)
	require.NoError(t, inst.Install(t.Context(), req))
	assert.Equal(t, sha(8), installed())
	onlyTarget()

	// A failed fetch leaves the old tree and no debris.
	bad := &drift.FetchInstaller{Fetcher: dirFetcher{fail: errors.New("network down")}, Dir: dirOf}
	req.SHA = sha(9)
	require.Error(t, bad.Install(t.Context(), req))
	assert.Equal(t, sha(8), installed())
	onlyTarget()

	req.SHA = "not-a-sha"
	require.ErrorIs(t, inst.Install(t.Context(), req), tracking.ErrInvalidSHA)
	assert.Equal(t, sha(8), installed())
	onlyTarget()
}

// recordingFetcher is a gitcli.Resolver, which can resolve refs as well as
// fetch commits, that notes every commit it is asked to fetch.
type recordingFetcher struct {
	*gitcli.Resolver
	mu      sync.Mutex
	fetched []string
}

func (f *recordingFetcher) Fetch(ctx context.Context, src tracking.Source, commit, dir string) error {
	f.mu.Lock()
	f.fetched = append(f.fetched, commit)
	f.mu.Unlock()
	return f.Resolver.Fetch(ctx, src, commit, dir)
}

// TestFetchInstallerInstallsTheReviewedCommit installs with a Fetcher that
// could also resolve the ref, after the ref has moved on past the
// reviewed commit: the reviewed commit is what lands on disk.
func TestFetchInstallerInstallsTheReviewedCommit(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	src, err := tracking.ParseSource("git+file://" + repos.Path(resolvertest.RepoPlugin))
	require.NoError(t, err)
	reviewed := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	newer := repos.Commit(t, resolvertest.RepoPlugin, "main")
	require.NotEqual(t, reviewed, newer)

	gc, err := gitcli.New(&gitcli.Config{AllowFile: true})
	require.NoError(t, err)
	git := &recordingFetcher{Resolver: gc}
	root := t.TempDir()
	inst := &drift.FetchInstaller{Fetcher: git, Dir: func(ws, p string) string { return filepath.Join(root, ws, p) }}
	require.NoError(t, inst.Install(t.Context(), drift.InstallRequest{
		UpdateID: 1, WorkspaceID: "ws", PluginName: "p",
		Source: src, Ref: mustRef("branch:main"), SHA: reviewed, FromSHA: sha(1),
	}))

	assert.Equal(t, []string{reviewed}, git.fetched)
	changelog, err := os.ReadFile(filepath.Join(root, "ws", "p", "CHANGELOG.md"))
	require.NoError(t, err)
	assert.Equal(t, "# Changelog\n\n- nightly\n", string(changelog), "the tree of the reviewed commit, not of the branch's tip")
}

// TestFetchInstallerTargetNeverMissing reads the plugin while it is
// reinstalled again and again: on Linux every read finds a whole tree.
func TestFetchInstallerTargetNeverMissing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux exchanges the trees in one step")
	}
	root := t.TempDir()
	inst := &drift.FetchInstaller{Fetcher: dirFetcher{}, Dir: func(ws, p string) string { return filepath.Join(root, ws, p) }}
	req := drift.InstallRequest{WorkspaceID: "ws", PluginName: "p", Source: mustSource(srcA), SHA: sha(1)}
	require.NoError(t, inst.Install(t.Context(), req))

	file := filepath.Join(root, "ws", "p", "COMMIT")
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			if _, err := os.ReadFile(file); err != nil {
				readerErr <- err
				return
			}
		}
	}()
	for i := 2; i <= 300; i++ {
		req.SHA = sha(i)
		require.NoError(t, inst.Install(t.Context(), req))
	}
	close(stop)
	require.NoError(t, <-readerErr, "a reader found no plugin while it was reinstalled")
}
