package gitcli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plugindrift/plugindrift/tracking"
)

// fullSHA is what every object id the parser returns must look like.
var fullSHA = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// FuzzParseLsRemote holds the ls-remote parser to its contract on any
// output a remote could make git print: it never panics; a refused answer
// returns nothing; in an accepted one every object id is a full lowercase
// SHA, every ref and symbolic ref is exactly a line of the input, no line
// is dropped, and the tag names derived from it are valid names of refs it
// holds. Seeds are in testdata/fuzz/FuzzParseLsRemote.
func FuzzParseLsRemote(f *testing.F) {
	f.Fuzz(func(t *testing.T, out []byte) {
		refs, symrefs, err := parseLsRemote("https://example.com/a/b.git", out)
		if err != nil {
			if refs != nil || symrefs != nil {
				t.Fatalf("refused %q (%v) but returned refs %q and symrefs %q", out, err, refs, symrefs)
			}
			return
		}
		lines := map[string]bool{}
		for line := range strings.SplitSeq(string(out), "\n") {
			lines[line] = true
		}
		for name, sha := range refs {
			if !fullSHA.MatchString(sha) {
				t.Fatalf("ref %q has object id %q, not 40 or 64 lowercase hex digits", name, sha)
			}
			if !lines[sha+"\t"+name] {
				t.Fatalf("ref %q -> %q is no line of the input %q", name, sha, out)
			}
		}
		for name, target := range symrefs {
			if !lines["ref: "+target+"\t"+name] {
				t.Fatalf("symbolic ref %q -> %q is no line of the input %q", name, target, out)
			}
		}
		for line := range lines {
			if line == "" {
				continue
			}
			id, name, _ := strings.Cut(line, "\t")
			if _, isSym := strings.CutPrefix(id, "ref: "); isSym {
				if _, ok := symrefs[name]; !ok {
					t.Fatalf("line %q was accepted but its symbolic ref is missing", line)
				}
			} else if _, ok := refs[name]; !ok {
				t.Fatalf("line %q was accepted but its ref is missing", line)
			}
		}
		for _, tag := range refs.tagNames() {
			if err := tracking.ValidateRefName(tag); err != nil {
				t.Fatalf("tagNames returned %q: %v", tag, err)
			}
			full := "refs/tags/" + tag
			if _, ok := refs[full]; !ok {
				t.Fatalf("tagNames returned %q, but the answer has no %q", tag, full)
			}
			if sha := refs.commit(full); !fullSHA.MatchString(sha) {
				t.Fatalf("tag %q resolves to %q", tag, sha)
			}
		}
	})
}
