package tracking_test

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

const (
	sha1Lower    = "0123456789abcdef0123456789abcdef01234567"
	sha256Lower  = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	acceptedRefs = "(accepted: none, sha:<40|64 hex>, tag:<name>, tag:latest, semver:<constraint>, branch:<name>, <name>, head)"
)

// TestParseRef_Shapes has one row per shape of DESIGN §2.
func TestParseRef_Shapes(t *testing.T) {
	tests := []struct {
		in        string
		canonical string
		kind      tracking.RefKind
		name      string
		tracked   bool
		drift     tracking.UpdateKind
	}{
		{"", "none", tracking.RefNone, "", false, ""},
		{"none", "none", tracking.RefNone, "", false, ""},
		{"sha:" + sha1Lower, "sha:" + sha1Lower, tracking.RefSHA, sha1Lower, false, ""},
		{"sha:" + strings.ToUpper(sha1Lower), "sha:" + sha1Lower, tracking.RefSHA, sha1Lower, false, ""},
		{"sha:" + sha256Lower, "sha:" + sha256Lower, tracking.RefSHA, sha256Lower, false, ""},
		{"sha:0123456789ABCDEFabcdef0123456789ABCDEF01", "sha:0123456789abcdefabcdef0123456789abcdef01", tracking.RefSHA, "0123456789abcdefabcdef0123456789abcdef01", false, ""},
		{"tag:v1.2.3", "tag:v1.2.3", tracking.RefTag, "v1.2.3", true, tracking.KindTagMoved},
		{"tag:release/2024-01", "tag:release/2024-01", tracking.RefTag, "release/2024-01", true, tracking.KindTagMoved},
		{"tag:Latest", "tag:Latest", tracking.RefTag, "Latest", true, tracking.KindTagMoved},
		{"tag:latest", "tag:latest", tracking.RefLatest, "", true, tracking.KindNewVersion},
		{"semver:^1.2", "semver:^1.2", tracking.RefSemver, "^1.2", true, tracking.KindNewVersion},
		{"semver:~1.4.0", "semver:~1.4.0", tracking.RefSemver, "~1.4.0", true, tracking.KindNewVersion},
		{"semver:>=1.0 <2", "semver:>=1.0 <2", tracking.RefSemver, ">=1.0 <2", true, tracking.KindNewVersion},
		{"semver:  >=1.0.0-0  ", "semver:>=1.0.0-0", tracking.RefSemver, ">=1.0.0-0", true, tracking.KindNewVersion},
		{"semver:^1 || ^2", "semver:^1 || ^2", tracking.RefSemver, "^1 || ^2", true, tracking.KindNewVersion},
		{"branch:main", "branch:main", tracking.RefBranch, "main", true, tracking.KindNewCommit},
		{"main", "branch:main", tracking.RefBranch, "main", true, tracking.KindNewCommit},
		{"feature/x-1", "branch:feature/x-1", tracking.RefBranch, "feature/x-1", true, tracking.KindNewCommit},
		{"branch:head", "branch:head", tracking.RefBranch, "head", true, tracking.KindNewCommit},
		{"branch:none", "branch:none", tracking.RefBranch, "none", true, tracking.KindNewCommit},
		{"latest", "branch:latest", tracking.RefBranch, "latest", true, tracking.KindNewCommit},
		{"NONE", "branch:NONE", tracking.RefBranch, "NONE", true, tracking.KindNewCommit},
		{"Head", "branch:Head", tracking.RefBranch, "Head", true, tracking.KindNewCommit},
		{"main'", "branch:main'", tracking.RefBranch, "main'", true, tracking.KindNewCommit},
		{"head", "head", tracking.RefHead, "", true, tracking.KindNewCommit},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := tracking.ParseRef(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.kind, r.Kind())
			assert.Equal(t, tt.name, refPart(r))
			assert.Equal(t, tt.canonical, r.String())
			assert.Equal(t, tt.tracked, r.Tracked())
			assert.Equal(t, tt.drift, r.DriftKind())

			again, err := tracking.ParseRef(r.String())
			require.NoError(t, err)
			assert.Equal(t, r, again, "ParseRef(r.String()) must return r")
		})
	}
}

func TestParseRef_Errors(t *testing.T) {
	tests := []struct {
		in   string
		rule string
	}{
		{"sha:", "want 40 or 64 hex digits, got 0 bytes"},
		{"sha:abc", "want 40 or 64 hex digits, got 3 bytes"},
		{"sha:" + sha1Lower + "0", "got 41 bytes"},
		{"sha:" + sha1Lower[:39] + "g", `byte 39 ('g') is not a hex digit`},
		{"tag:", "tag name is empty"},
		{"tag:v1..2", `tag name contains ".."`},
		{"tag:HEAD", `tag name "HEAD" is ambiguous`},
		{"tag:refs/tags/v1", `write the short name, e.g. branch:main or tag:v1.2.3`},
		{"branch:", "branch name is empty"},
		{"branch:HEAD", `"HEAD" is written head`},
		{"HEAD", `"HEAD" is written head`},
		{"refs/heads/main", `starts with "refs/": write the short name, e.g. branch:main or tag:v1.2.3`},
		{"branch:refs/heads/main", `branch name starts with "refs/"`},
		{"semver:", "semver: empty constraint"},
		{"semver:   ", "semver: empty constraint"},
		{"semver:not a constraint", "semver: not a valid constraint"},
		{"semver:^1\n", "semver: constraint contains control character U+000A"},
		{"semver:" + strings.Repeat("1", 256), "semver: constraint longer than 255 bytes (256)"},
		{"foo:bar", `unknown ref kind "foo"`},
		{"ext::sh", `unknown ref kind "ext"`},
		{"SHA:" + sha1Lower, `unknown ref kind "SHA"`},
		{":main", `unknown ref kind ""`},
		{" main", "name contains a space"},
		{"main ", "name contains a space"},
		{"-main", `name begins with "-"`},
		{"a~1", `name contains '~'`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := tracking.ParseRef(tt.in)
			require.Error(t, err)
			assert.Equal(t, tracking.Ref{}, r)
			assert.ErrorIs(t, err, tracking.ErrInvalidRef)
			assert.ErrorContains(t, err, tt.rule)
			assert.ErrorContains(t, err, acceptedRefs)
			assert.True(t, strings.HasPrefix(err.Error(), `tracking: invalid ref "`), err.Error())
		})
	}
}

func TestParseRef_ErrorQuotesTruncatedInput(t *testing.T) {
	in := strings.Repeat("a", 300) + "..b"
	_, err := tracking.ParseRef(in)
	require.ErrorIs(t, err, tracking.ErrInvalidRef)
	// 64 bytes in all, the ellipsis (3 bytes) included.
	assert.Contains(t, err.Error(), `"`+strings.Repeat("a", 61)+`…"`)
	assert.NotContains(t, err.Error(), strings.Repeat("a", 62))
	assert.ErrorContains(t, err, "longer than 255 bytes (303)")
}

func TestRef_ZeroValueIsNone(t *testing.T) {
	var r tracking.Ref
	assert.Equal(t, "none", r.String())
	assert.False(t, r.Tracked())
	assert.Equal(t, tracking.UpdateKind(""), r.DriftKind())
	parsed, err := tracking.ParseRef(r.String())
	require.NoError(t, err)
	assert.Equal(t, tracking.RefNone, parsed.Kind())
	assert.Equal(t, r, parsed, "ParseRef(\"none\") is the zero Ref")
	empty, err := tracking.ParseRef("")
	require.NoError(t, err)
	assert.Equal(t, r, empty)
	assert.Equal(t, tracking.RefNone, r.Kind())
}

// refPart is the variable part of r: at most one of Name, Constraint and
// SHA is set, by kind.
func refPart(r tracking.Ref) string {
	parts := 0
	for _, p := range []string{r.Name(), r.Constraint(), r.SHA()} {
		if p != "" {
			parts++
		}
	}
	if parts > 1 {
		panic("more than one of Name, Constraint and SHA set: " + r.String())
	}
	return r.Name() + r.Constraint() + r.SHA()
}

// TestRefConstructors holds each typed constructor to what ParseRef
// returns for the same text, and to its errors.
func TestRefConstructors(t *testing.T) {
	mustParse := func(s string) tracking.Ref {
		r, err := tracking.ParseRef(s)
		require.NoError(t, err, s)
		return r
	}
	cases := []struct {
		name string
		make func(string) (tracking.Ref, error)
		in   string
		want tracking.Ref
	}{
		{"branch", tracking.BranchRef, "main", mustParse("branch:main")},
		{"branch none", tracking.BranchRef, "none", mustParse("branch:none")},
		{"tag", tracking.TagRef, "v1.2.3", mustParse("tag:v1.2.3")},
		{"semver", tracking.SemverRef, " ^1.2 ", mustParse("semver:^1.2")},
		{"sha", tracking.SHARef, strings.ToUpper(sha1Lower), mustParse("sha:" + sha1Lower)},
	}
	for _, c := range cases {
		got, err := c.make(c.in)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
	assert.Equal(t, "main", mustParse("branch:main").Name())
	assert.Equal(t, "^1.2", mustParse("semver:^1.2").Constraint())
	assert.Equal(t, sha1Lower, mustParse("sha:"+sha1Lower).SHA())

	bad := []struct {
		name string
		make func(string) (tracking.Ref, error)
		in   string
		rule string
	}{
		{"branch refs/", tracking.BranchRef, "refs/heads/main", `starts with "refs/"`},
		{"branch space", tracking.BranchRef, "a b", "contains a space"},
		{"branch HEAD", tracking.BranchRef, "HEAD", "written head"},
		{"tag latest", tracking.TagRef, "latest", "tag:latest selects the highest stable version"},
		{"tag dash", tracking.TagRef, "-x", `begins with "-"`},
		{"semver", tracking.SemverRef, "not a constraint", "not a valid constraint"},
		{"sha short", tracking.SHARef, "abc", "want 40 or 64 hex digits"},
	}
	for _, c := range bad {
		got, err := c.make(c.in)
		assert.ErrorIs(t, err, tracking.ErrInvalidRef, c.name)
		assert.ErrorContains(t, err, c.rule, c.name)
		assert.Equal(t, tracking.Ref{}, got, c.name)
	}
}

func TestRef_TextRoundTrip(t *testing.T) {
	type doc struct {
		Ref tracking.Ref `json:"ref"`
	}
	semver, err := tracking.SemverRef(">=1.0 <2")
	require.NoError(t, err)
	head, err := tracking.ParseRef("head")
	require.NoError(t, err)
	in := doc{Ref: semver}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `{"ref":"semver:>=1.0 <2"}`, string(b))

	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	out = doc{Ref: head}
	err = json.Unmarshal([]byte(`{"ref":"refs/heads/x"}`), &out)
	assert.ErrorIs(t, err, tracking.ErrInvalidRef)
	assert.Equal(t, head, out.Ref, "a failed unmarshal leaves the value unchanged")
}

func TestValidateSHA(t *testing.T) {
	require.NoError(t, tracking.ValidateSHA(sha1Lower))
	require.NoError(t, tracking.ValidateSHA(sha256Lower))

	tests := []struct {
		in   string
		rule string
	}{
		{"", "want 40 or 64 lowercase hex digits, got 0 bytes"},
		{sha1Lower[:12], "got 12 bytes"},
		{sha1Lower + "00", "got 42 bytes"},
		{strings.ToUpper(sha1Lower), "uppercase hex digit 'A' at byte 10; commit ids are stored in lowercase"},
		{sha1Lower[:39] + "z", `byte 39 ('z') is not a hex digit`},
		{"sha:" + sha1Lower[:36], `byte 0 ('s') is not a hex digit`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := tracking.ValidateSHA(tt.in)
			assert.ErrorIs(t, err, tracking.ErrInvalidSHA)
			assert.ErrorContains(t, err, tt.rule)
			assert.True(t, strings.HasPrefix(err.Error(), "tracking: invalid commit sha "), err.Error())
		})
	}
}

// refNameCases is shared by TestValidateRefName and the git comparison.
// rule is "" for valid names.
var refNameCases = []struct {
	name string
	rule string
}{
	{"main", ""},
	{"v1.2.3", ""},
	{"feature/x", ""},
	{"a/b/c", ""},
	{"HEAD", ""},
	{"@", `is the single name "@"`},
	{"a@b", ""},
	{"@x", ""},
	{"x@", ""},
	{"a@{b", `contains "@{"`},
	{"@{", `contains "@{"`},
	{"a{b}", ""},
	{"a#b", ""},
	{"main'", ""},
	{"a'b;c", ""},
	{"a!b", ""},
	{"a=b", ""},
	{"a,b", ""},
	{"a+b", ""},
	{"a%b", ""},
	{"a$b", ""},
	{"a\"b", ""},
	{"a<b>", ""},
	{"a|b", ""},
	{"x.y", ""},
	{"a./b", ""},
	{"a_b", ""},
	{"lock", ""},
	{"a.lock.b", ""},
	{"a.lockx", ""},
	{"a]b", ""},
	{"a..b", `contains ".."`},
	{"..", `contains ".."`},
	{"a/../b", `contains ".."`},
	{".hidden", `has a component beginning with "." (".hidden")`},
	{"a/.b", `has a component beginning with "." (".b")`},
	{".", `has a component beginning with "."`},
	{"a.lock", `has a component ending with ".lock" ("a.lock")`},
	{"a.lock/b", `has a component ending with ".lock" ("a.lock")`},
	{"b/a.lock", `has a component ending with ".lock"`},
	{"a.", `ends with "."`},
	{"a/b.", `ends with "."`},
	{"/a", `begins with "/"`},
	{"a/", `ends with "/"`},
	{"/", `begins with "/"`},
	{"a//b", `contains "//"`},
	{"a b", "contains a space"},
	{"a~b", `contains '~'`},
	{"a^b", `contains '^'`},
	{"a:b", `contains ':'`},
	{"a?b", `contains '?'`},
	{"a*b", `contains '*'`},
	{"a[b", `contains '['`},
	{`a\b`, `contains '\\'`},
	{"a\tb", "contains control character U+0009"},
	{"a\x7fb", "contains control character U+007F"},
	{"a\x01b", "contains control character U+0001"},
	{"", "is empty"},
}

func TestValidateRefName(t *testing.T) {
	extra := []struct {
		name string
		rule string
	}{
		{"-x", `begins with "-" (it could be read as a command-line option)`},
		{"--upload-pack=x", `begins with "-"`},
		{strings.Repeat("a", 255), ""},
		{strings.Repeat("a", 256), "is longer than 255 bytes (256)"},
		{"a\x00b", "contains control character U+0000"},
		{"a\nb", "contains control character U+000A"},
		{"a\u0085b", "contains control character U+0085"},
		{"ma\u202Ein", "contains invisible format character U+202E"},
		{"a\u200Bb", "contains invisible format character U+200B"},
		{"a\u00A0b", "contains whitespace U+00A0"},
		{"a\u2028b", "contains whitespace U+2028"},
		{"a\xffb", "is not valid UTF-8"},
		{"m\u0430in", ""},     // Cyrillic 'а': a letter, accepted
		{"ветка/функция", ""}, // Unicode letters
		{"a\u2215b", ""},      // division slash: a symbol, git accepts it
		{"main'; DROP TABLE x;--", "contains a space"},
	}
	for _, tt := range append(append(extra[:0:0], extra...), refNameCases...) {
		t.Run(tt.name, func(t *testing.T) {
			err := tracking.ValidateRefName(tt.name)
			if tt.rule == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tracking.ErrInvalidRef)
			assert.ErrorContains(t, err, tt.rule)
			assert.True(t, strings.HasPrefix(err.Error(), "tracking: invalid ref name "), err.Error())
		})
	}
}

// TestValidateRefName_MatchesGit holds the ASCII rules to git's own
// check-ref-format. Names where plugindrift is deliberately stricter
// (leading '-', more than 255 bytes, non-ASCII) are not in the table.
func TestValidateRefName_MatchesGit(t *testing.T) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not on PATH; the comparison with git check-ref-format needs it")
	}
	require.GreaterOrEqual(t, len(refNameCases), 40)
	for _, tt := range refNameCases {
		if tt.name == "" || strings.ContainsRune(tt.name, 0) {
			continue // cannot be passed as an argument
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cmd := exec.CommandContext(ctx, gitPath, "check-ref-format", "--allow-onelevel", tt.name)
		runErr := cmd.Run()
		cancel()
		var exitErr *exec.ExitError
		if runErr != nil && !errors.As(runErr, &exitErr) {
			require.NoError(t, runErr, "running git")
		}
		gitValid := runErr == nil
		ourErr := tracking.ValidateRefName(tt.name)
		assert.Equal(t, gitValid, ourErr == nil, "name %q: git valid=%v, ValidateRefName error=%v", tt.name, gitValid, ourErr)
	}
}

func TestValidateSHAsReturnsTheFirstError(t *testing.T) {
	good := strings.Repeat("a", 40)
	require.NoError(t, tracking.ValidateSHAs())
	require.NoError(t, tracking.ValidateSHAs(good, strings.Repeat("b", 64)))
	err := tracking.ValidateSHAs(good, "ABC", "xyz")
	require.ErrorIs(t, err, tracking.ErrInvalidSHA)
	require.Contains(t, err.Error(), `"ABC"`)
}
