package gitcli_test

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
)

// benchHistory is a plugin-sized repository: 300 files of 8 KiB (2.4 MB of
// source) written by the first of 20 commits; each later commit rewrites
// 15 of them.
func benchHistory() []map[string][]byte {
	const files, size, commits, perCommit = 300, 8 << 10, 20, 15
	noise := pseudoRandom(files * commits * size / 2)
	next := 0
	content := func() []byte {
		b := []byte(hex.EncodeToString(noise[next : next+size/2]))
		next += size / 2
		for i := 63; i < len(b); i += 64 {
			b[i] = '\n'
		}
		return b
	}
	name := func(i int) string { return fmt.Sprintf("src/pkg%02d/file%03d.go", i%20, i) }
	history := make([]map[string][]byte, commits)
	history[0] = map[string][]byte{}
	for i := range files {
		history[0][name(i)] = content()
	}
	for c := 1; c < commits; c++ {
		history[c] = map[string][]byte{}
		for j := range perCommit {
			history[c][name((c*perCommit+j*7)%files)] = content()
		}
	}
	return history
}

// BenchmarkBranchLsRemoteVsShallowFetch compares learning a branch's tip
// with Resolve (one git ls-remote) against the shallow fetch it replaces
// (git init, git remote add, git fetch --depth=1, git rev-parse), both
// over smart HTTP on loopback.
func BenchmarkBranchLsRemoteVsShallowFetch(b *testing.B) {
	root := b.TempDir()
	path := filepath.Join(root, "plugin.git")
	writeRepo(b, path, benchHistory())
	url := resolvertest.ServeSmartHTTP(b, root) + "/plugin.git"
	want := revParse(b, path, "main")
	if out, err := exec.Command("git", "--git-dir="+path, "count-objects", "-vH").Output(); err == nil {
		b.Logf("repository served:\n%s", out)
	}

	b.Run("ls-remote", func(b *testing.B) {
		r := mustNew(b, nil)
		req := resolver.Request{Source: mustSource(b, "git+"+url), Ref: mustRef(b, "branch:main")}
		for b.Loop() {
			res, err := r.Resolve(b.Context(), req)
			if err != nil {
				b.Fatal(err)
			}
			if res.SHA != want {
				b.Fatalf("resolved %s, want %s", res.SHA, want)
			}
		}
	})

	b.Run("shallow-fetch", func(b *testing.B) {
		env := append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
		parent := b.TempDir()
		for b.Loop() {
			dir, err := os.MkdirTemp(parent, "shallow-")
			if err != nil {
				b.Fatal(err)
			}
			var out []byte
			for _, args := range [][]string{
				{"init", "--quiet", dir},
				{"-C", dir, "remote", "add", "origin", url},
				{"-C", dir, "fetch", "--quiet", "--depth=1", "origin", "main"},
				{"-C", dir, "rev-parse", "FETCH_HEAD"},
			} {
				cmd := exec.Command("git", args...)
				cmd.Env = env
				if out, err = cmd.Output(); err != nil {
					b.Fatalf("git %v: %v", args, err)
				}
			}
			if got := string(out[:len(out)-1]); got != want {
				b.Fatalf("fetched %s, want %s", got, want)
			}
			if err := os.RemoveAll(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadObjects measures what a signature check costs in git on a
// plugin-sized repository over smart HTTP: ReadObjects of a branch's tip
// (one commits-only fetch into a temporary repository, which is removed),
// and the same with a history clone that already holds the commit.
func BenchmarkReadObjects(b *testing.B) {
	root := b.TempDir()
	path := filepath.Join(root, "plugin.git")
	writeRepo(b, path, benchHistory())
	url := resolvertest.ServeSmartHTTP(b, root) + "/plugin.git"
	src, ref := mustSource(b, "git+"+url), mustRef(b, "branch:main")
	res := resolver.Result{SHA: revParse(b, path, "main")}
	for name, cfg := range map[string]*gitcli.Config{
		"temporary":     nil,
		"history-clone": {HistoryCacheDir: b.TempDir()},
	} {
		b.Run(name, func(b *testing.B) {
			r := mustNew(b, cfg)
			for b.Loop() {
				objs, err := r.ReadObjects(b.Context(), src, ref, res)
				if err != nil {
					b.Fatal(err)
				}
				if len(objs.Commit) == 0 {
					b.Fatal("no commit object")
				}
			}
		})
	}
}
