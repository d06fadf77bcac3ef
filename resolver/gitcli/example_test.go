package gitcli_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/tracking"
)

// newUpstream makes, in a new temporary directory dir, a local repository
// with one commit on main that adds README.md, and returns dir and the
// repository's path. The caller removes dir.
func newUpstream() (dir, upstream string) {
	dir, err := os.MkdirTemp("", "gitcli-example-")
	if err != nil {
		log.Fatal(err)
	}
	upstream = filepath.Join(dir, "upstream")
	if err := os.MkdirAll(upstream, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(upstream, "README.md"), []byte("# hello\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "README.md"},
		{"commit", "--quiet", "--message", "first"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = upstream
		cmd.Env = append(os.Environ(),
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Example", "GIT_AUTHOR_EMAIL=example@example.invalid",
			"GIT_COMMITTER_NAME=Example", "GIT_COMMITTER_EMAIL=example@example.invalid")
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	return dir, upstream
}

// Resolve the tip of a branch of a local repository. Local repositories
// (git+file) must be allowed explicitly; https, http and ssh remotes need no
// option.
func Example() {
	dir, upstream := newUpstream()
	defer os.RemoveAll(dir)

	src, err := tracking.ParseSource("git+file://" + upstream)
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("branch:main")
	if err != nil {
		log.Fatal(err)
	}
	r, err := gitcli.New(&gitcli.Config{AllowFile: true})
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Resolve(context.Background(), resolver.Request{Source: src, Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("full commit id:", len(res.SHA) == 40)
	fmt.Printf("version: %q\n", res.Version)
	fmt.Println("revision:", strings.TrimSuffix(res.Revision, res.SHA)+"…")
	// Output:
	// full commit id: true
	// version: ""
	// revision: main@sha1:…
}

// Fetch writes the files of one exact commit, without .git, for an
// installer to copy.
func ExampleResolver_Fetch() {
	dir, upstream := newUpstream()
	defer os.RemoveAll(dir)

	src, err := tracking.ParseSource("git+file://" + upstream)
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("head")
	if err != nil {
		log.Fatal(err)
	}
	r, err := gitcli.New(&gitcli.Config{AllowFile: true})
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Resolve(context.Background(), resolver.Request{Source: src, Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	target := filepath.Join(dir, "installed", "plugin")
	if err := r.Fetch(context.Background(), src, res.SHA, target); err != nil {
		log.Fatal(err)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// README.md
}
