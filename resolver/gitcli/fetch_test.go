package gitcli_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// listTree returns every path under dir (slash-separated, relative) with
// its mode bits for files.
func listTree(t *testing.T, dir string) map[string]os.FileMode {
	t.Helper()
	files := map[string]os.FileMode{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if path == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		files[filepath.ToSlash(rel)] = info.Mode()
		return nil
	}))
	return files
}

func TestFetch(t *testing.T) {
	t.Parallel()
	repos := resolvertest.NewRepos(t)
	base := resolvertest.ServeSmartHTTP(t, repos.Dir())
	sources := map[string]tracking.Source{
		"file": mustSource(t, "git+file://"+repos.Path(resolvertest.RepoPlugin)),
		"http": mustSource(t, "git+"+base+"/"+resolvertest.RepoPlugin+".git"),
	}
	r := mustNew(t, &gitcli.Config{AllowFile: true})
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			// An older commit than the tip, reachable only through history.
			sha := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")
			dir := filepath.Join(t.TempDir(), "plugins", "ws1", "plugin")
			require.NoError(t, r.Fetch(t.Context(), src, sha, dir))

			files := listTree(t, dir)
			assert.Equal(t, []string{"CHANGELOG.md", "README.md", "bin", "bin/run.sh", "lib", "lib/nested", "lib/nested/plugin.json"}, keys(files))
			assert.NotZero(t, files["bin/run.sh"]&0o100, "the executable bit is kept")
			changelog, err := os.ReadFile(filepath.Join(dir, "CHANGELOG.md"))
			require.NoError(t, err)
			assert.Equal(t, "# Changelog\n\n- v1.2.0\n", string(changelog))
			siblings, err := os.ReadDir(filepath.Dir(dir))
			require.NoError(t, err)
			assert.Len(t, siblings, 1, "temporary directories were left behind")
		})
	}

	t.Run("into an existing empty directory", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, r.Fetch(t.Context(), sources["file"], repos.SHA(resolvertest.RepoPlugin, "refs/heads/main"), dir))
		assert.Contains(t, listTree(t, dir), "README.md")
	})
}

// TestFetchRelativeTarget fetches into a directory named relative to the
// working directory, as a host run with relative paths asks for.
func TestFetchRelativeTarget(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	src := mustSource(t, "git+file://"+repos.Path(resolvertest.RepoPlugin))
	work := t.TempDir()
	t.Chdir(work)
	sha := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")
	require.NoError(t, mustNew(t, &gitcli.Config{AllowFile: true}).Fetch(t.Context(), src, sha, filepath.Join("plugins", "ws1", "plugin")))

	dir := filepath.Join(work, "plugins", "ws1", "plugin")
	changelog, err := os.ReadFile(filepath.Join(dir, "CHANGELOG.md"))
	require.NoError(t, err)
	assert.Equal(t, "# Changelog\n\n- v1.2.0\n", string(changelog))
	siblings, err := os.ReadDir(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Len(t, siblings, 1, "temporary directories were left behind")
}

func keys(m map[string]os.FileMode) []string { return slices.Sorted(maps.Keys(m)) }

// TestFetchFailuresLeaveNothing checks that every failure leaves the
// target and its parent as they were.
func TestFetchFailuresLeaveNothing(t *testing.T) {
	t.Parallel()
	repos := resolvertest.NewRepos(t)
	src := mustSource(t, "git+file://"+repos.Path(resolvertest.RepoPlugin))
	tip := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	// zeros compresses to almost nothing: its tree is large, its download
	// small. noise does not compress: its download is large too.
	zeros := filepath.Join(t.TempDir(), "zeros.git")
	writeRepo(t, zeros, []map[string][]byte{{"zeros.bin": make([]byte, 1<<20)}})
	noise := filepath.Join(t.TempDir(), "noise.git")
	writeRepo(t, noise, []map[string][]byte{{"noise.bin": pseudoRandom(256 << 10)}})
	limited := mustNew(t, &gitcli.Config{AllowFile: true, MaxFetchBytes: 64 << 10})

	tests := []struct {
		name  string
		r     *gitcli.Resolver
		ctx   context.Context
		src   tracking.Source
		sha   string
		match error
		says  string
	}{
		{"unknown commit", mustNew(t, &gitcli.Config{AllowFile: true}), t.Context(), src, "0123456789abcdef0123456789abcdef01234567", resolver.ErrNotFound, "not our ref 0123456789abcdef0123456789abcdef01234567"},
		{"missing repository", mustNew(t, &gitcli.Config{AllowFile: true}), t.Context(), mustSource(t, "git+file://"+repos.Path(resolvertest.RepoMissing)), tip, resolver.ErrNotFound, "missing.git' does not appear to be a git repository"},
		{"tree over the limit", limited, t.Context(), mustSource(t, "git+file://"+zeros), revParse(t, zeros, "main"), tracking.ErrInvalidArgument, "tree of"},
		{"download over the limit", limited, t.Context(), mustSource(t, "git+file://"+noise), revParse(t, noise, "main"), tracking.ErrInvalidArgument, "download"},
		{"cancelled", mustNew(t, &gitcli.Config{AllowFile: true}), cancelled, src, tip, context.Canceled, ""},
		{"invalid sha", mustNew(t, &gitcli.Config{AllowFile: true}), t.Context(), src, "HEAD", tracking.ErrInvalidSHA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "plugin")
			err := tt.r.Fetch(tt.ctx, tt.src, tt.sha, dir)
			require.ErrorIs(t, err, tt.match)
			assert.Contains(t, err.Error(), tt.says)
			entries, err := os.ReadDir(parent)
			require.NoError(t, err)
			assert.Empty(t, entries, "left behind after a failed fetch")
		})
	}

	t.Run("target not empty", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644))
		err := mustNew(t, &gitcli.Config{AllowFile: true}).Fetch(t.Context(), src, tip, dir)
		require.ErrorIs(t, err, tracking.ErrInvalidArgument)
		assert.Equal(t, []string{"keep"}, keys(listTree(t, dir)))
		siblings, err := os.ReadDir(filepath.Dir(dir))
		require.NoError(t, err)
		assert.Len(t, siblings, 1)
	})
}

// pseudoRandom returns n bytes that do not compress, the same every run.
func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}
