package gitcli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// writeRepo creates the bare repository path with one branch, main, of
// len(commits) commits; commits[i] maps the paths commit i writes to their
// content (later commits keep what they do not rewrite).
func writeRepo(tb testing.TB, path string, commits []map[string][]byte) {
	tb.Helper()
	var s bytes.Buffer
	for i, files := range commits {
		when := 1704067200 + i*60
		fmt.Fprintf(&s, "commit refs/heads/main\ncommitter Bench <bench@plugindrift.invalid> %d +0000\ndata 9\ncommit %02d\n", when, i)
		for name, content := range files {
			fmt.Fprintf(&s, "M 100644 inline %s\ndata %d\n", name, len(content))
			s.Write(content)
			s.WriteString("\n")
		}
		s.WriteString("\n")
	}
	for _, args := range [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", path},
		{"--git-dir=" + path, "fast-import", "--quiet"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		if args[1] == "fast-import" {
			cmd.Stdin = &s
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
}

// revParse returns the commit a ref of the bare repository path names.
func revParse(tb testing.TB, path, ref string) string {
	tb.Helper()
	out, err := exec.Command("git", "--git-dir="+path, "rev-parse", "--verify", ref+"^{commit}").Output()
	if err != nil {
		tb.Fatalf("git rev-parse %s: %v", ref, err)
	}
	return string(bytes.TrimSpace(out))
}
