package gitcli_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// BenchmarkNotAncestors measures force-push detection on a large real
// repository: PLUGINDRIFT_BENCH_REPO names a bare repository (a mirror of
// github.com/git/git for BENCHMARKS.md), served over smart HTTP on
// loopback with partial clones allowed, as GitHub serves them. Three
// installed commits are asked about: 300, 1,000 and 20,000 first-parent
// commits behind the branch's tip.
//
//   - first-check: a new cache; the treeless clone of the whole history.
//   - moved: the branch moved by one commit since the last check: an
//     incremental fetch and the merge-bases. Run it with at most 200
//     iterations (-benchtime 50x): it walks forward along the last 200
//     commits of the branch.
//   - tip-known: the tip is already in the cache (another upstream of the
//     same repository moved to it): the merge-bases alone.
func BenchmarkNotAncestors(b *testing.B) {
	repo := os.Getenv("PLUGINDRIFT_BENCH_REPO")
	if repo == "" {
		b.Skip("set PLUGINDRIFT_BENCH_REPO to a bare repository, such as a mirror of github.com/git/git")
	}
	root := b.TempDir()
	if err := os.Symlink(repo, filepath.Join(root, "bench.git")); err != nil {
		b.Fatal(err)
	}
	base := resolvertest.ServeSmartHTTP(b, root)
	src, err := tracking.ParseSource("git+" + base + "/bench.git")
	if err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("git", "--git-dir="+repo, "rev-list", "--first-parent", "--max-count=20001", "HEAD").Output()
	if err != nil {
		b.Fatal(err)
	}
	chain := strings.Fields(string(out)) // chain[0] is the tip
	if len(chain) < 20001 {
		b.Fatalf("%s has %d first-parent commits; want at least 20001", repo, len(chain))
	}
	installed := []string{chain[300], chain[1000], chain[20000]}
	var cache string
	newResolver := func(b *testing.B) *gitcli.Resolver {
		cache = b.TempDir()
		return mustNew(b, &gitcli.Config{HistoryCacheDir: cache, Timeout: 10 * time.Minute, MaxFetchBytes: 2 << 30})
	}
	check := func(b *testing.B, r *gitcli.Resolver, tip string) {
		got, err := r.NotAncestors(b.Context(), src, tip, installed)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 0 {
			b.Fatalf("%d installed commits reported rewritten; want none", len(got))
		}
	}

	b.Run("first-check", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			r := newResolver(b)
			b.StartTimer()
			check(b, r, chain[200])
		}
		b.ReportMetric(float64(treeSize(b, cache))/(1<<20), "cache-MiB")
	})
	b.Run("moved", func(b *testing.B) {
		r := newResolver(b)
		check(b, r, chain[200])
		i := 200
		for b.Loop() {
			if i--; i < 0 {
				b.Fatal("more than 200 iterations: use -benchtime 50x")
			}
			check(b, r, chain[i])
		}
	})
	b.Run("tip-known", func(b *testing.B) {
		r := newResolver(b)
		check(b, r, chain[0])
		for b.Loop() {
			check(b, r, chain[0])
		}
	})
}

// treeSize adds up the sizes of the files under dir.
func treeSize(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
