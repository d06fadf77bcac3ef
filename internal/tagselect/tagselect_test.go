package tagselect

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/Masterminds/semver/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// vectors is testdata/tag-selection.json: selection and constraint cases
// collected from the test suites of Flux, Renovate and Masterminds/semver.
type vectors struct {
	Select []struct {
		Source string   `json:"source"`
		Ref    string   `json:"ref"`
		Tags   []string `json:"tags"`
		Expect *string  `json:"expect"`
		Note   string   `json:"note"`
	} `json:"select"`
	Match []struct {
		Source     string `json:"source"`
		Constraint string `json:"constraint"`
		Version    string `json:"version"`
		Match      bool   `json:"match"`
		Note       string `json:"note"`
	} `json:"match"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/tag-selection.json")
	require.NoError(t, err)
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.Len(t, v.Select, 60, "select cases")
	require.Len(t, v.Match, 68, "match cases")
	return v
}

func TestSelectVectors(t *testing.T) {
	for i, c := range loadVectors(t).Select {
		t.Run(fmt.Sprintf("%02d %s %s", i, c.Source, c.Ref), func(t *testing.T) {
			ref, err := tracking.ParseRef(c.Ref)
			if err != nil {
				// The peers report "no match" for a constraint they cannot
				// parse ("1.2.3.4", "*-*"); plugindrift refuses it earlier,
				// as an invalid ref, so no such Ref reaches Select.
				require.Nil(t, c.Expect, "only unparseable constraints may fail to parse: %v", err)
				require.ErrorIs(t, err, tracking.ErrInvalidRef)
				return
			}
			got, err := Select(ref, c.Tags)
			if c.Expect == nil {
				require.ErrorIs(t, err, ErrNoMatch, "got %q (%s)", got, c.Note)
				return
			}
			require.NoError(t, err, c.Note)
			assert.Equal(t, *c.Expect, got, c.Note)
		})
	}
}

// TestMatchVectors checks each constraint case through Select: a lone tag is
// selected exactly when the constraint matches it.
func TestMatchVectors(t *testing.T) {
	for i, c := range loadVectors(t).Match {
		t.Run(fmt.Sprintf("%02d %s %s vs %s", i, c.Source, c.Constraint, c.Version), func(t *testing.T) {
			ref, err := tracking.ParseRef("semver:" + c.Constraint)
			require.NoError(t, err)
			got, err := Select(ref, []string{c.Version})
			if _, ok := Version(c.Version); !ok {
				// "1.4" is no tag version (exactly MAJOR.MINOR.PATCH), so it
				// is never selected; the constraint still answers as
				// Masterminds does for the coerced version.
				require.ErrorIs(t, err, ErrNoMatch)
				accept, err := policy(ref)
				require.NoError(t, err)
				assert.Equal(t, c.Match, accept(semver.MustParse(c.Version)), c.Note)
				return
			}
			if c.Match {
				require.NoError(t, err, c.Note)
				assert.Equal(t, c.Version, got)
			} else {
				require.ErrorIs(t, err, ErrNoMatch, "got %q (%s)", got, c.Note)
			}
		})
	}
}

func latest() tracking.Ref {
	r, err := tracking.ParseRef("tag:latest")
	if err != nil {
		panic(err)
	}
	return r
}

func semverRef(c string) tracking.Ref {
	r, err := tracking.SemverRef(c)
	if err != nil {
		panic(err)
	}
	return r
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name string
		ref  tracking.Ref
		tags []string
		want string // "" means ErrNoMatch
	}{
		{"minor 10 beats minor 9", latest(), []string{"v1.9.0", "v1.10.0", "v1.2.0"}, "v1.10.0"},
		{"patch 10 beats patch 9", latest(), []string{"1.0.10", "1.0.9"}, "1.0.10"},
		{"major 10 beats major 9", semverRef(">=1"), []string{"v9.0.0", "v10.0.0"}, "v10.0.0"},
		{"latest skips prereleases", latest(), []string{"v1.0.0", "v2.0.0-rc.1", "v1.1.0-beta"}, "v1.0.0"},
		{"latest with only prereleases", latest(), []string{"v2.0.0-rc.1"}, ""},
		{"semver skips prereleases unless named", semverRef(">=1.0"), []string{"v1.0.0", "v2.0.0-rc.1"}, "v1.0.0"},
		{"semver naming a prerelease", semverRef(">=2.0.0-0"), []string{"v1.0.0", "v2.0.0-rc.1", "v2.0.0-rc.2"}, "v2.0.0-rc.2"},
		{"release beats its prerelease", semverRef(">=2.0.0-0"), []string{"v2.0.0", "v2.0.0-rc.2"}, "v2.0.0"},
		{"non-versions skipped", latest(), []string{"latest", "nightly", "release-2024", "v1.2", "1", "1.0.0.1", "b1.2.3", "V1.2.3", "vv1.2.3", "01.2.3", "v0.1.0"}, "v0.1.0"},
		{"no versions at all", latest(), []string{"latest", "nightly"}, ""},
		{"no tags", latest(), nil, ""},
		{"tie on v prefix goes to the name sorting last", latest(), []string{"v1.0.0", "1.0.0"}, "v1.0.0"},
		{"tie order does not depend on input order", latest(), []string{"1.0.0", "v1.0.0"}, "v1.0.0"},
		{"tie on build metadata", latest(), []string{"v1.0.0+b.2", "v1.0.0+b.10", "v1.0.0"}, "v1.0.0+b.2"},
		{"build metadata does not raise a version", latest(), []string{"v1.0.0+zzz", "v1.0.1"}, "v1.0.1"},
		{"name returned as written", semverRef("~1.2"), []string{"v1.2.3+Build.7"}, "v1.2.3+Build.7"},
		{"constraint with no match", semverRef(">=3"), []string{"v1.0.0", "v2.0.0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(tt.ref, tt.tags)
			if tt.want == "" {
				require.ErrorIs(t, err, ErrNoMatch, "got %q", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSelectRejectsOtherRefs(t *testing.T) {
	for _, in := range []string{"none", "tag:v1.0.0", "branch:main", "head", "sha:0123456789012345678901234567890123456789"} {
		ref, err := tracking.ParseRef(in)
		require.NoError(t, err)
		_, err = Select(ref, []string{"v1.0.0"})
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, "%s", ref)
	}
}

func BenchmarkSelect1000Tags(b *testing.B) {
	tags := make([]string, 0, 1000)
	for i := range 1000 {
		switch i % 10 {
		case 0:
			tags = append(tags, fmt.Sprintf("nightly-%d", i))
		case 1:
			tags = append(tags, fmt.Sprintf("v%d.%d.0-rc.%d", i/100, i%100, i%7))
		default:
			tags = append(tags, fmt.Sprintf("v%d.%d.%d", i/100, i%100, i%10))
		}
	}
	for _, ref := range []tracking.Ref{latest(), semverRef("^3.2 || >=8.0.0-0 <9")} {
		b.Run(ref.String(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Select(ref, tags); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
