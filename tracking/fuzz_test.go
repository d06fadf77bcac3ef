package tracking_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// Seeds for FuzzParseRef and FuzzParseSource live in
// testdata/fuzz/<name>; `go test` runs them as regression cases.

// maxErrorLen bounds error messages: hostile input is truncated before it
// is quoted.
const maxErrorLen = 1024

func FuzzParseRef(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		r, err := tracking.ParseRef(s)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidRef)
			require.Equal(t, tracking.Ref{}, r)
			require.LessOrEqual(t, len(err.Error()), maxErrorLen)
			return
		}
		canonical := r.String()
		requireCleanText(t, canonical)

		again, err := tracking.ParseRef(canonical)
		require.NoError(t, err, "canonical form %q must parse", canonical)
		require.Equal(t, r, again, "ParseRef(r.String()) must return r")
		require.Equal(t, canonical, again.String(), "String must be idempotent")

		require.Equal(t, r.Tracked(), r.DriftKind() != "")
		switch r.Kind() {
		case tracking.RefNone, tracking.RefLatest, tracking.RefHead:
			require.Empty(t, r.Name()+r.Constraint()+r.SHA())
			require.Equal(t, r.Kind() != tracking.RefNone, r.Tracked())
		case tracking.RefSHA:
			require.NoError(t, tracking.ValidateSHA(r.SHA()))
			require.Empty(t, r.Name()+r.Constraint())
			require.False(t, r.Tracked())
		case tracking.RefTag, tracking.RefBranch:
			require.NoError(t, tracking.ValidateRefName(r.Name()))
			require.NotEqual(t, "HEAD", r.Name())
			require.False(t, strings.HasPrefix(r.Name(), "refs/"))
			require.Empty(t, r.Constraint()+r.SHA())
			require.True(t, r.Tracked())
		case tracking.RefSemver:
			require.NotEmpty(t, r.Constraint())
			require.Equal(t, strings.Trim(r.Constraint(), " "), r.Constraint())
			require.LessOrEqual(t, len(r.Constraint()), 255)
			require.Empty(t, r.Name()+r.SHA())
		default:
			t.Fatalf("ParseRef returned unknown kind %q", r.Kind())
		}
	})
}

func FuzzParseSource(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		src, err := tracking.ParseSource(s)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidSource)
			require.Equal(t, tracking.Source{}, src)
			require.LessOrEqual(t, len(err.Error()), maxErrorLen)
			return
		}
		canonical := src.String()
		requireCleanText(t, canonical)
		for _, r := range canonical {
			require.False(t, unicode.IsSpace(r), "canonical %q contains whitespace", canonical)
		}
		require.NotContains(t, canonical, "%")
		require.NotContains(t, canonical, `\`)

		again, err := tracking.ParseSource(canonical)
		require.NoError(t, err, "canonical form %q must parse", canonical)
		require.Equal(t, src, again, "ParseSource(src.String()) must return src")
		require.Equal(t, canonical, again.String(), "String must be idempotent")

		require.True(t, src.IsValid())
		switch src.Scheme() {
		case tracking.SchemeGitHub:
			require.Equal(t, "https", src.Transport())
			require.Regexp(t, `^[A-Za-z0-9]([A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`, src.Owner())
			require.Regexp(t, `^[A-Za-z0-9._-]{1,100}$`, src.Repo())
			require.False(t, strings.HasSuffix(src.Repo(), ".git"))
			require.Equal(t, strings.ToLower(src.Host()), src.Host(), "host is lowercase")
			require.Equal(t, src.Host() != "", strings.ContainsAny(src.Host(), ".:"), "a host has a '.' or ':'; an owner never")
			require.Empty(t, src.URL()+src.Name())
		case tracking.SchemeGit:
			require.Contains(t, []string{"https", "http", "ssh", "file"}, src.Transport())
			require.True(t, strings.HasPrefix(src.URL(), src.Transport()+"://"))
			require.NotContains(t, src.URL(), "#")
			require.NotContains(t, src.URL(), "?")
			rest := strings.TrimPrefix(src.URL(), src.Transport()+"://")
			authority, path, _ := strings.Cut(rest, "/")
			require.NotContains(t, strings.Split(path, "/"), "..")
			require.NotContains(t, strings.Split(path, "/"), ".")
			require.Equal(t, strings.ToLower(hostOf(authority)), hostOf(authority), "host is lowercase")
			if user, _, ok := strings.Cut(authority, "@"); ok {
				require.Equal(t, "ssh", src.Transport(), "only ssh URLs carry a user")
				require.NotContains(t, user, ":", "no password")
				require.False(t, strings.HasPrefix(user, "-"))
			}
			require.False(t, strings.HasPrefix(hostOf(authority), "-"))
			require.Equal(t, src.Transport() == "file", authority == "")
			require.Equal(t, hostOf(authority), src.Host())
			require.Empty(t, src.Owner()+src.Repo()+src.Name())
		case tracking.SchemeLocal:
			require.NoError(t, tracking.ValidatePluginName(src.Name()))
			require.Equal(t, tracking.Ref{}, src.InstalledFrom())
			require.Empty(t, src.Host()+src.URL()+src.Owner()+src.Repo())
			require.False(t, src.HasUpstream())
		default:
			t.Fatalf("ParseSource returned unknown scheme %q", src.Scheme())
		}
	})
}

func hostOf(authority string) string {
	if _, after, ok := strings.Cut(authority, "@"); ok {
		authority = after
	}
	return authority
}

// FuzzValidateRefName holds ValidateRefName to a plain restatement of its
// rules.
func FuzzValidateRefName(f *testing.F) {
	for _, tt := range refNameCases {
		f.Add(tt.name)
	}
	for _, s := range []string{"-x", "m\u0430in", "a\u202Eb", "a\u00A0b", "a\xffb", strings.Repeat("a", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := tracking.ValidateRefName(name)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidRef)
		}
		require.Equal(t, refNameOK(name), err == nil, "name %q: error %v", name, err)
	})
}

func refNameOK(name string) bool {
	if name == "" || len(name) > 255 || name[0] == '-' || name == "@" || !utf8.ValidString(name) {
		return false
	}
	if strings.ContainsAny(name, " ~^:?*[\\") || strings.Contains(name, "..") || strings.Contains(name, "@{") || strings.HasSuffix(name, ".") {
		return false
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || unicode.In(r, unicode.Cc, unicode.Cf, unicode.White_Space) {
			return false
		}
	}
	for _, comp := range strings.Split(name, "/") {
		if comp == "" || comp[0] == '.' || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	return true
}

var (
	pluginNameRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)
	workspaceIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)
)

// FuzzValidateNames holds ValidatePluginName and ValidateWorkspaceID to
// their regular expressions.
func FuzzValidateNames(f *testing.F) {
	for _, s := range []string{"", "a", "a..b", "A", "-a", "a/b", "my-plugin_1.0", "org:acme@eu-1", "a\u2215b", strings.Repeat("a", 101), strings.Repeat("a", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := tracking.ValidatePluginName(s)
		require.Equal(t, pluginNameRE.MatchString(s) && !strings.Contains(s, ".."), err == nil, "plugin name %q: %v", s, err)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidPluginName)
		}
		err = tracking.ValidateWorkspaceID(s)
		require.Equal(t, workspaceIDRE.MatchString(s), err == nil, "workspace id %q: %v", s, err)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidWorkspaceID)
		}
	})
}

// requireCleanText asserts a canonical form is valid UTF-8 without control
// or invisible format characters.
func requireCleanText(t *testing.T, s string) {
	t.Helper()
	require.True(t, utf8.ValidString(s), "canonical %q is not valid UTF-8", s)
	for _, r := range s {
		require.False(t, unicode.IsControl(r) || unicode.Is(unicode.Cf, r), "canonical %q contains %U", s, r)
	}
}
