package tagselect

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/plugindrift/plugindrift/tracking"
)

// FuzzSelect holds Select to its contract for any ref and any tags (one
// per line): it never panics; the tag it selects is one of the inputs,
// is a version the ref accepts, and no other input is a higher accepted
// version or an equal one whose name sorts after it, judged by the
// package's own Version, policy and semver comparison; the answer does not
// depend on the order of the tags; ErrNoMatch means no input is accepted.
// Text ParseRef refuses cannot become a Ref, so it is skipped. Seeds, from
// testdata/tag-selection.json, are in testdata/fuzz/FuzzSelect.
func FuzzSelect(f *testing.F) {
	f.Fuzz(func(t *testing.T, refText, tagLines string) {
		ref, err := tracking.ParseRef(refText)
		if err != nil {
			return // a Ref is valid by construction: nothing else reaches Select
		}
		tags := strings.Split(tagLines, "\n")

		got, err := Select(ref, tags)
		accept, policyErr := policy(ref)
		if policyErr != nil {
			if err == nil || got != "" {
				t.Fatalf("Select(%s) = %q, %v; the ref selects no tag (%v)", ref, got, err, policyErr)
			}
			if !errors.Is(err, tracking.ErrInvalidRef) && !errors.Is(err, tracking.ErrInvalidArgument) {
				t.Fatalf("Select(%s) refused with %v, which is neither ErrInvalidRef nor ErrInvalidArgument", ref, err)
			}
			return
		}
		accepted := func(name string) (*semver.Version, bool) {
			v, ok := Version(name)
			return v, ok && accept(v)
		}
		if errors.Is(err, ErrNoMatch) {
			if got != "" {
				t.Fatalf("Select(%s) returned %q with ErrNoMatch", ref, got)
			}
			for _, tag := range tags {
				if _, ok := accepted(tag); ok {
					t.Fatalf("Select(%s, %q) found no match, but %q qualifies", ref, tags, tag)
				}
			}
			return
		}
		if err != nil {
			t.Fatalf("Select(%s, %q): %v", ref, tags, err)
		}
		if !slices.Contains(tags, got) {
			t.Fatalf("Select(%s, %q) = %q, which is not one of the tags", ref, tags, got)
		}
		gotVer, ok := accepted(got)
		if !ok {
			t.Fatalf("Select(%s, %q) = %q, which the ref does not accept", ref, tags, got)
		}
		for _, tag := range tags {
			v, ok := accepted(tag)
			if !ok {
				continue
			}
			if c := v.Compare(gotVer); c > 0 || c == 0 && tag > got {
				t.Fatalf("Select(%s, %q) = %q, but %q ranks higher", ref, tags, got, tag)
			}
		}

		reversed := slices.Clone(tags)
		slices.Reverse(reversed)
		if again, err := Select(ref, reversed); again != got || err != nil {
			t.Fatalf("Select(%s) = %q for %q but %q, %v for the reverse order", ref, got, tags, again, err)
		}
	})
}
