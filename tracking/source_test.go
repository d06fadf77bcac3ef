package tracking_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// sf is what the accessors of a Source return, for tables.
type sf struct {
	Scheme                       tracking.SourceScheme
	Host, Owner, Repo, URL, Name string
	From                         string // InstalledFrom().String()
}

func fieldsOf(s tracking.Source) sf {
	return sf{Scheme: s.Scheme(), Host: s.Host(), Owner: s.Owner(), Repo: s.Repo(), URL: s.URL(), Name: s.Name(), From: s.InstalledFrom().String()}
}

// TestParseSource_Shapes has rows for every shape of DESIGN §3.
func TestParseSource_Shapes(t *testing.T) {
	tests := []struct {
		in        string
		want      sf
		canonical string
		transport string
	}{
		{
			in:        "github://acme/widget",
			want:      sf{Scheme: tracking.SchemeGitHub, Owner: "acme", Repo: "widget"},
			canonical: "github://acme/widget", transport: "https",
		},
		{
			in:        "github://Acme-Corp/My_Widget.v2.git#v1.2.3",
			want:      sf{Scheme: tracking.SchemeGitHub, Owner: "Acme-Corp", Repo: "My_Widget.v2", From: "branch:v1.2.3"},
			canonical: "github://Acme-Corp/My_Widget.v2#branch:v1.2.3", transport: "https",
		},
		{
			in:        "GitHub://a/.github#tag:v1.2.3",
			want:      sf{Scheme: tracking.SchemeGitHub, Owner: "a", Repo: ".github", From: "tag:v1.2.3"},
			canonical: "github://a/.github#tag:v1.2.3", transport: "https",
		},
		{
			in:        "github://" + strings.Repeat("o", 39) + "/" + strings.Repeat("r", 100) + ".git",
			want:      sf{Scheme: tracking.SchemeGitHub, Owner: strings.Repeat("o", 39), Repo: strings.Repeat("r", 100)},
			canonical: "github://" + strings.Repeat("o", 39) + "/" + strings.Repeat("r", 100), transport: "https",
		},
		{
			in:        "github://acme/widget#sha:" + strings.ToUpper(sha1Lower),
			want:      sf{Scheme: tracking.SchemeGitHub, Owner: "acme", Repo: "widget", From: "sha:" + sha1Lower},
			canonical: "github://acme/widget#sha:" + sha1Lower, transport: "https",
		},
		{
			in:        "github://GHE.Example.com/acme/widget.git#tag:v1",
			want:      sf{Scheme: tracking.SchemeGitHub, Host: "ghe.example.com", Owner: "acme", Repo: "widget", From: "tag:v1"},
			canonical: "github://ghe.example.com/acme/widget#tag:v1", transport: "https",
		},
		{
			in:        "github://ghe.example.com:08443/acme/widget",
			want:      sf{Scheme: tracking.SchemeGitHub, Host: "ghe.example.com:8443", Owner: "acme", Repo: "widget"},
			canonical: "github://ghe.example.com:8443/acme/widget", transport: "https",
		},
		{
			in:        "github://github.com/acme/widget",
			want:      sf{Scheme: tracking.SchemeGitHub, Host: "github.com", Owner: "acme", Repo: "widget"},
			canonical: "github://github.com/acme/widget", transport: "https",
		},
		{
			in:        "github://localhost:3000/acme/widget",
			want:      sf{Scheme: tracking.SchemeGitHub, Host: "localhost:3000", Owner: "acme", Repo: "widget"},
			canonical: "github://localhost:3000/acme/widget", transport: "https",
		},
		{
			in:        "github://[::1]:8443/acme/widget",
			want:      sf{Scheme: tracking.SchemeGitHub, Host: "[::1]:8443", Owner: "acme", Repo: "widget"},
			canonical: "github://[::1]:8443/acme/widget", transport: "https",
		},
		{
			in:        "git+https://git.example.com/team/widget.git",
			want:      sf{Scheme: tracking.SchemeGit, Host: "git.example.com", URL: "https://git.example.com/team/widget.git"},
			canonical: "git+https://git.example.com/team/widget.git", transport: "https",
		},
		{
			in:        "GIT+HTTPS://Git.Example.COM:0443/Team/Widget#tag:latest",
			want:      sf{Scheme: tracking.SchemeGit, Host: "git.example.com:443", URL: "https://git.example.com:443/Team/Widget", From: "tag:latest"},
			canonical: "git+https://git.example.com:443/Team/Widget#tag:latest", transport: "https",
		},
		{
			in:        "git+http://127.0.0.1:8080/repo.git#semver:>=1.0,<2",
			want:      sf{Scheme: tracking.SchemeGit, Host: "127.0.0.1:8080", URL: "http://127.0.0.1:8080/repo.git", From: "semver:>=1.0,<2"},
			canonical: "git+http://127.0.0.1:8080/repo.git#semver:>=1.0,<2", transport: "http",
		},
		{
			in:        "git+http://[0:0::1]:8080/repo",
			want:      sf{Scheme: tracking.SchemeGit, Host: "[::1]:8080", URL: "http://[::1]:8080/repo"},
			canonical: "git+http://[::1]:8080/repo", transport: "http",
		},
		{
			in:        "git+ssh://git@example.com/acme/widget.git#head",
			want:      sf{Scheme: tracking.SchemeGit, Host: "example.com", URL: "ssh://git@example.com/acme/widget.git", From: "head"},
			canonical: "git+ssh://git@example.com/acme/widget.git#head", transport: "ssh",
		},
		{
			in:        "git+ssh://Deploy.Bot@Github_Work:2222/~acme/widget",
			want:      sf{Scheme: tracking.SchemeGit, Host: "github_work:2222", URL: "ssh://Deploy.Bot@github_work:2222/~acme/widget"},
			canonical: "git+ssh://Deploy.Bot@github_work:2222/~acme/widget", transport: "ssh",
		},
		{
			in:        "git+file:///srv/git/widget.git#branch:main",
			want:      sf{Scheme: tracking.SchemeGit, URL: "file:///srv/git/widget.git", From: "branch:main"},
			canonical: "git+file:///srv/git/widget.git#branch:main", transport: "file",
		},
		{
			in:        "git+https://h.example/a/ветка#tag:a#b",
			want:      sf{Scheme: tracking.SchemeGit, Host: "h.example", URL: "https://h.example/a/ветка", From: "tag:a#b"},
			canonical: "git+https://h.example/a/ветка#tag:a#b", transport: "https",
		},
		{
			in:        "local://my-plugin",
			want:      sf{Scheme: tracking.SchemeLocal, Name: "my-plugin"},
			canonical: "local://my-plugin",
		},
		{
			in:        "my_plugin.v2",
			want:      sf{Scheme: tracking.SchemeLocal, Name: "my_plugin.v2"},
			canonical: "local://my_plugin.v2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			src, err := tracking.ParseSource(tt.in)
			require.NoError(t, err)
			if tt.want.From == "" {
				tt.want.From = "none"
			}
			assert.Equal(t, tt.want, fieldsOf(src))
			assert.Equal(t, tt.canonical, src.String())
			assert.Equal(t, tt.transport, src.Transport())
			assert.Equal(t, tt.want.Scheme != tracking.SchemeLocal, src.HasUpstream())
			assert.True(t, src.IsValid())

			again, err := tracking.ParseSource(src.String())
			require.NoError(t, err)
			assert.Equal(t, src, again, "ParseSource(src.String()) must return src")
		})
	}
}

func TestParseSource_Errors(t *testing.T) {
	tests := []struct {
		in   string
		rule string
	}{
		{"", "empty source; write github://owner/repo"},
		{strings.Repeat("a", 2049), "longer than 2048 bytes (2049)"},
		{"github://acme/widget#", `empty "#": remove it`},
		{"github://acme/widget#none", `"#none": remove it`},
		{"github://acme/widget#foo:bar", `#ref: unknown ref kind "foo"`},
		{"github://acme/widget#HEAD", `#ref: "HEAD" is written head`},
		{"github://acme/widget#semver:>=1.0 <2", "whitespace U+0020 at byte 33"},
		{"github://acme", "want exactly github://owner/repo, or github://host/owner/repo"},
		{"github://", "want exactly github://owner/repo"},
		{"github://acme/widget/extra", `want exactly github://owner/repo, or github://host/owner/repo for another GitHub host (a host contains "." or ":")`},
		{"github://localhost/acme/widget", `(a host contains "." or ":")`},
		{"github://acme/widget/", `trailing "/": write github://owner/repo`},
		{"github://ghe.example.com/acme/widget/", `trailing "/"`},
		{"github://ghe.example.com/acme", `want exactly github://host/owner/repo after the host "ghe.example.com"`},
		{"github://ghe.example.com/acme/widget/x", `want exactly github://host/owner/repo after the host "ghe.example.com"`},
		{"github://ghe.example.com/ac_me/widget", `github owner contains '_'`},
		{"github://GHE.example.com:0/acme/widget", `github port "0": want 1 to 65535`},
		{"github://ghe.example.com:/acme/widget", `github empty port`},
		{"github://ghe..example.com/acme/widget", `github host "ghe..example.com" has an empty label`},
		{"github://-ghe.example.com/acme/widget", `github host "-ghe.example.com" has a label beginning with "-"`},
		{"github://[fe80::1%25eth0]:1/acme/widget", `"%" not allowed`},
		{"github://[zz]:1/acme/widget", "github host"},
		{"github://:443/acme/widget", "github host"},
		{"github://user@acme/widget", "github sources take no user or credentials"},
		{"github://user@ghe.example.com/acme/widget", "github sources take no user or credentials"},
		{"github://acme:443/widget", `want exactly github://host/owner/repo after the host "acme:443"`},
		{"github://acme/widget?x=1", "github sources take no query string"},
		{"github://-acme/widget", `github owner begins or ends with "-"`},
		{"github://acme-/widget", `github owner begins or ends with "-"`},
		{"github://ac_me/widget", `github owner contains '_' at byte 2`},
		{"github://" + strings.Repeat("o", 40) + "/w", "github owner is longer than 39 characters (40)"},
		{"github:///widget", "github owner is empty"},
		{"github://acme/" + strings.Repeat("r", 101), "github repository is longer than 100 characters (101)"},
		{"github://acme/.git", "github repository is empty"},
		{"github://acme/..", `github repository cannot be ".."`},
		{"github://acme/.", `github repository cannot be "."`},
		{"github://acme/w.git.git", `github repository ends in ".git" twice`},
		{"github://acme/wid!get", `github repository contains '!' at byte 3`},
		{"git+https://host", "no repository path: write git+https://host/path"},
		{"git+https://host/", "no repository path"},
		{"git+file:///", "no repository path: write git+file:///abs/path"},
		{"git+https:///path", "no host: write git+https://host/path"},
		{"git+https://host:/x", "empty port"},
		{"git+https://host:0/x", `port "0": want 1 to 65535`},
		{"git+https://host:65536/x", `port "65536": want 1 to 65535`},
		{"git+https://host:x/x", `not a valid URL: what follows ":" in the host is not a port`},
		{"git+https://[1.2.3.4]/x", "not a valid URL: invalid IP-literal"},
		{"git+https://host./x", `has an empty label`},
		{"git+https://a..b/x", `has an empty label`},
		{"git+https://ex!ample.com/x", `contains '!' at byte 2`},
		{"git+https://exämple.com/x", `contains 'ä' (U+00E4) at byte 2`},
		{"git+https://" + strings.Repeat("a", 64) + ".com/x", "has a label longer than 63 bytes"},
		{"git+https://" + strings.Repeat("a.", 127) + "aa/x", "is longer than 253 bytes"},
		{"git+https://host/a//b", `empty path segment ("//" or a trailing "/")`},
		{"git+https://host/a/", `empty path segment`},
		{"git+https://host/a/./b", `path segment "." not allowed`},
		{"git+https://host/a?ref=x", `query string not allowed`},
		{"git+https://host/a%2e%2e/b", `"%" not allowed: percent-encoding is not decoded`},
		{`git+https://host/a\b`, "backslash not allowed"},
		{"git+ssh://@host/x", "ssh user is empty"},
		{"git+ssh://us!er@host/x", "ssh user contains '!'"},
		{"git+ssh://-oProxyCommand=x@host/x", `ssh user begins with "-"`},
		{"git+ssh://-oProxyCommand=x/path", `has a label beginning with "-"`},
		{"git+file://user@/x", "git+file URLs take no user"},
		{"git+file:/x", `missing "//" after "git+file:"; write git+file://…`},
		{"git+ftp://host/x", `transport "ftp" not allowed`},
		{"git://host/x", "the unauthenticated git:// protocol is not allowed"},
		{"https://github.com/acme/widget", "plain https:// URL: prefix it with git+ (git+https://…)"},
		{"http://host/x", "plain http:// URL: prefix it with git+"},
		{"ssh://git@host/x", "plain ssh:// URL: prefix it with git+"},
		{"file:///srv/x", "plain file:// URL: prefix it with git+"},
		{"svn://host/x", `unknown scheme "svn"`},
		{"github:acme/widget", `missing "//" after "github:"; write github://…`},
		{"git@github.com:acme/widget.git", `scp-like address "git@github.com:acme/widget.git": write "git+ssh://git@github.com/acme/widget.git"`},
		{"host.example:/srv/x", `write "git+ssh://host.example/srv/x"`},
		{"foo:bar", `unknown scheme "foo"`},
		{"fd::17", `transport "fd::" not allowed`},
		{"local://", "local://name: plugin name is empty"},
		{"local://a/b", "local://name: plugin name contains '/'"},
		{"local://ok#main", `local sources take no "#ref"`},
		{"ok#main", `local sources take no "#ref"`},
		{"My-Plugin", "not a plugin name: begins with 'M'"},
		{"/srv/plugins/x", `not a plugin name: begins with '/'; it must begin with a lowercase letter or digit; a local repository is written "git+file:///srv/plugins/x"`},
		{"./x:y", "not a plugin name"},
		{"a\xffb", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			src, err := tracking.ParseSource(tt.in)
			require.Error(t, err)
			assert.Equal(t, tracking.Source{}, src)
			assert.ErrorIs(t, err, tracking.ErrInvalidSource)
			assert.ErrorContains(t, err, tt.rule)
			assert.True(t, strings.HasPrefix(err.Error(), `tracking: invalid source "`), err.Error())
		})
	}
}

func TestSource_StringAndTransport(t *testing.T) {
	assert.Equal(t, "", tracking.Source{}.String(), "the zero Source is invalid")
	assert.Equal(t, "", tracking.Source{}.Transport())
	assert.False(t, tracking.Source{}.HasUpstream())

	assert.False(t, tracking.Source{}.IsValid())
	assert.Equal(t, sf{From: "none"}, fieldsOf(tracking.Source{}))

	gh, err := tracking.GitHubSource("", "a", "b")
	require.NoError(t, err)
	assert.True(t, gh.IsValid())
	assert.Equal(t, "github://a/b", gh.String(), "an absent InstalledFrom is left out")
	assert.Equal(t, "https", gh.Transport())

	local, err := tracking.ParseSource("local://x")
	require.NoError(t, err)
	assert.Equal(t, "local://x", local.String())
	assert.Equal(t, "", local.Transport())
	assert.False(t, local.HasUpstream())
}

// TestGitHubSource holds the constructor to what ParseSource returns for
// the same text.
func TestGitHubSource(t *testing.T) {
	mustParse := func(s string) tracking.Source {
		src, err := tracking.ParseSource(s)
		require.NoError(t, err, s)
		return src
	}
	for _, c := range []struct{ host, owner, repo, want string }{
		{"", "acme", "widget", "github://acme/widget"},
		{"", "acme", "widget.git", "github://acme/widget"},
		{"GHE.example.com", "acme", "widget", "github://ghe.example.com/acme/widget"},
		{"ghe.example.com:8443", "acme", "widget", "github://ghe.example.com:8443/acme/widget"},
	} {
		src, err := tracking.GitHubSource(c.host, c.owner, c.repo)
		require.NoError(t, err, c)
		assert.Equal(t, mustParse(c.want), src, c)
	}
	for _, c := range []struct{ host, owner, repo, rule string }{
		{"", "acme.corp", "widget", "a host is passed as the first argument"},
		{"", "ghe.example.com/acme", "widget", `cannot contain "/"`},
		{"ghe.example.com", "acme", "widget/x", `cannot contain "/"`},
		{"", "acme", "widget#main", `cannot contain "/" or "#"`},
		{"", "", "widget", "github owner is empty"},
		{"localhost", "acme", "widget", `(a host contains "." or ":")`},
		{"user@ghe.example.com", "acme", "widget", "no user or credentials"},
	} {
		src, err := tracking.GitHubSource(c.host, c.owner, c.repo)
		assert.ErrorIs(t, err, tracking.ErrInvalidSource, c)
		assert.ErrorContains(t, err, c.rule, c)
		assert.Equal(t, tracking.Source{}, src, c)
	}
}

// TestSource_Comparable: equal canonical forms are equal values and the
// same map key, which is what lets stores and the sweeper key upstreams by
// Source without re-parsing.
func TestSource_Comparable(t *testing.T) {
	a, err := tracking.ParseSource("GIT+HTTPS://Git.Example.com:0443/x.git#main")
	require.NoError(t, err)
	b, err := tracking.ParseSource("git+https://git.example.com:443/x.git#branch:main")
	require.NoError(t, err)
	assert.True(t, a == b)
	seen := map[tracking.Source]int{a: 1}
	assert.Equal(t, 1, seen[b])
	def, err := tracking.ParseSource("github://acme/w")
	require.NoError(t, err)
	named, err := tracking.ParseSource("github://github.com/acme/w")
	require.NoError(t, err)
	assert.False(t, def == named, "which host is the default is the resolver's configuration")
}

func TestSource_TextRoundTrip(t *testing.T) {
	type doc struct {
		Source tracking.Source `json:"source"`
	}
	var out doc
	require.NoError(t, json.Unmarshal([]byte(`{"source":"git+ssh://git@Host/x#main"}`), &out))
	assert.Equal(t, sf{Scheme: tracking.SchemeGit, Host: "host", URL: "ssh://git@host/x", From: "branch:main"}, fieldsOf(out.Source))

	b, err := json.Marshal(out)
	require.NoError(t, err)
	assert.JSONEq(t, `{"source":"git+ssh://git@host/x#branch:main"}`, string(b))

	before := out
	err = json.Unmarshal([]byte(`{"source":"ext::sh"}`), &out)
	assert.ErrorIs(t, err, tracking.ErrInvalidSource)
	assert.Equal(t, before, out, "a failed unmarshal leaves the value unchanged")

	// The zero Source is written "" and read back as the zero Source, as
	// netip.Addr does.
	b, err = json.Marshal(doc{})
	require.NoError(t, err)
	assert.JSONEq(t, `{"source":""}`, string(b))
	require.NoError(t, json.Unmarshal(b, &out))
	assert.False(t, out.Source.IsValid())
}

func TestValidatePluginName(t *testing.T) {
	tests := []struct {
		name string
		rule string
	}{
		{"a", ""},
		{"0", ""},
		{"my-plugin_2.0", ""},
		{"a" + strings.Repeat("b", 99), ""},
		{"a" + strings.Repeat("b", 100), "is longer than 100 bytes (101)"},
		{"", "is empty"},
		{"-x", `begins with '-'; it must begin with a lowercase letter or digit`},
		{".x", `begins with '.'`},
		{"_x", `begins with '_'`},
		{"Abc", `begins with 'A'`},
		{"aBc", `contains 'B' at byte 1; allowed: a-z 0-9 . _ -`},
		{"a/b", `contains '/' at byte 1`},
		{"a..b", `contains ".."`},
		{"a b", `contains ' ' (U+0020) at byte 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tracking.ValidatePluginName(tt.name)
			if tt.rule == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tracking.ErrInvalidPluginName)
			assert.ErrorContains(t, err, tt.rule)
			assert.True(t, strings.HasPrefix(err.Error(), "tracking: invalid plugin name "), err.Error())
		})
	}
}

func TestValidateWorkspaceID(t *testing.T) {
	tests := []struct {
		id   string
		rule string
	}{
		{"w", ""},
		{"Tenant-42", ""},
		{"org:acme@eu-1.prod_a", ""},
		{"9" + strings.Repeat("x", 127), ""},
		{"9" + strings.Repeat("x", 128), "is longer than 128 bytes (129)"},
		{"", "is empty"},
		{"-w", `begins with '-'; it must begin with an ASCII letter or digit`},
		{"@w", `begins with '@'`},
		{"a/b", `contains '/' at byte 1; allowed: ASCII letters, digits and . _ : @ -`},
		{"a b", `contains ' ' (U+0020) at byte 1`},
		{"é", `begins with 'é' (U+00E9); it must`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := tracking.ValidateWorkspaceID(tt.id)
			if tt.rule == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tracking.ErrInvalidWorkspaceID)
			assert.ErrorContains(t, err, tt.rule)
			assert.True(t, strings.HasPrefix(err.Error(), "tracking: invalid workspace id "), err.Error())
		})
	}
}

// TestHostileInput feeds every validator inputs written to attack what
// reads them later (git's argument parser, a shell, SQL, a log viewer, a
// human reviewer). Each is rejected with the right sentinel and a message
// naming the rule, or accepted byte for byte.
func TestHostileInput(t *testing.T) {
	parseRef := func(s string) error { _, err := tracking.ParseRef(s); return err }
	parseSource := func(s string) error { _, err := tracking.ParseSource(s); return err }
	big := strings.Repeat("a", 10*1024)
	const rtl = "\u202E"

	tests := []struct {
		what     string
		check    func(string) error
		in       string
		sentinel error
		rule     string
	}{
		{"ref leading dash", parseRef, "-main", tracking.ErrInvalidRef, `name begins with "-"`},
		{"ref upload-pack option", parseRef, "--upload-pack=x", tracking.ErrInvalidRef, `name begins with "-"`},
		{"ref ssh option", parseRef, "branch:-oProxyCommand=x", tracking.ErrInvalidRef, `branch name begins with "-"`},
		{"tag option", parseRef, "tag:--upload-pack=touch /tmp/x", tracking.ErrInvalidRef, `tag name begins with "-"`},
		{"ref dotdot", parseRef, "..", tracking.ErrInvalidRef, `name contains ".."`},
		{"ref reflog", parseRef, "main@{1}", tracking.ErrInvalidRef, `name contains "@{"`},
		{"ref NUL", parseRef, "main\x00x", tracking.ErrInvalidRef, "control character U+0000"},
		{"ref newline injection", parseRef, "main\nsha:" + sha1Lower, tracking.ErrInvalidRef, "unknown ref kind \"main\\nsha\""},
		{"branch newline injection", parseRef, "branch:main\nx", tracking.ErrInvalidRef, "control character U+000A"},
		{"ref escape sequence", parseRef, "main\x1b[31m", tracking.ErrInvalidRef, "control character U+001B"},
		{"ref 10 KB", parseRef, big, tracking.ErrInvalidRef, "longer than 255 bytes (10240)"},
		{"ref 10 KB semver", parseRef, "semver:" + big, tracking.ErrInvalidRef, "constraint longer than 255 bytes"},
		{"ref ext transport", parseRef, "ext::sh -c touch /tmp/x", tracking.ErrInvalidRef, `unknown ref kind "ext"`},
		{"ref RTL override", parseRef, "main" + rtl + "cod.exe", tracking.ErrInvalidRef, "invisible format character U+202E"},
		{"ref SQL", parseRef, "main'; DROP TABLE x;--", tracking.ErrInvalidRef, "name contains a space"},

		{"source ext transport", parseSource, "ext::sh -c touch /tmp/x", tracking.ErrInvalidSource, `transport "ext::" not allowed`},
		{"source git+ext", parseSource, "git+ext::sh -c x", tracking.ErrInvalidSource, `transport "git+ext::" not allowed`},
		{"source leading dash", parseSource, "--upload-pack=x", tracking.ErrInvalidSource, `not a plugin name: begins with '-'`},
		{"source ssh option host", parseSource, "git+ssh://-oProxyCommand=x/path", tracking.ErrInvalidSource, `has a label beginning with "-"`},
		{"source ssh option user", parseSource, "git+ssh://-oProxyCommand=x@h/path", tracking.ErrInvalidSource, `ssh user begins with "-"`},
		{"source plain https with credentials", parseSource, "https://user:token@host/x.git", tracking.ErrInvalidSource, `plain https:// URL: prefix it with git+ (git+https://…) and remove "user@": credentials in URLs are not allowed`},
		{"source https credentials", parseSource, "git+https://user:token@host/x.git", tracking.ErrInvalidSource, "credentials in URLs are not allowed"},
		{"source https token as user", parseSource, "git+https://token@host/x.git", tracking.ErrInvalidSource, `credentials in URLs are not allowed: remove "user@" (a token written as the user name is a credential too)`},
		{"source http token as user", parseSource, "git+http://token@host/x.git", tracking.ErrInvalidSource, "credentials in URLs are not allowed"},
		{"source ssh password", parseSource, "git+ssh://u:p@h/x", tracking.ErrInvalidSource, `ssh password in URL not allowed: remove ":password"`},
		{"source ssh empty password", parseSource, "git+ssh://u:@h/x", tracking.ErrInvalidSource, "ssh password in URL not allowed"},
		{"source file host", parseSource, "git+file://host/x", tracking.ErrInvalidSource, `git+file URLs take no host: write "git+file:///x"`},
		{"source dotdot segment", parseSource, "git+https://h/a/../b", tracking.ErrInvalidSource, `path segment ".." not allowed`},
		{"source encoded dotdot", parseSource, "git+https://h/a/%2e%2e/b", tracking.ErrInvalidSource, `"%" not allowed`},
		{"source file dotdot", parseSource, "git+file:///srv/../etc/x", tracking.ErrInvalidSource, `path segment ".." not allowed`},
		{"source NUL", parseSource, "github://a/b\x00", tracking.ErrInvalidSource, "control character U+0000 at byte 12"},
		{"source newline injection", parseSource, "github://a/b\ngit+https://evil/x", tracking.ErrInvalidSource, "control character U+000A at byte 12"},
		{"source tab", parseSource, "git+https://h/x\t", tracking.ErrInvalidSource, "control character U+0009"},
		{"source 10 KB", parseSource, "github://a/" + big, tracking.ErrInvalidSource, "longer than 2048 bytes"},
		{"source RTL override", parseSource, "github://acme/wid" + rtl + "get", tracking.ErrInvalidSource, "invisible format character U+202E at byte 17"},
		{"source zero-width space", parseSource, "my\u200Bplugin", tracking.ErrInvalidSource, "invisible format character U+200B"},
		{"source no-break space", parseSource, "github://a/b\u00A0", tracking.ErrInvalidSource, "whitespace U+00A0"},
		{"source Cyrillic host", parseSource, "git+https://gitl\u0430b.com/x", tracking.ErrInvalidSource, "(U+0430)"},
		{"source division slash", parseSource, "local://a\u2215b", tracking.ErrInvalidSource, "(U+2215)"},
		{"source SQL", parseSource, "x'; DROP TABLE installs;--", tracking.ErrInvalidSource, "whitespace U+0020"},
		{"source SQL without spaces", parseSource, "x';DROP", tracking.ErrInvalidSource, "contains '\\''"},
		{"source hostile #ref", parseSource, "github://a/b#--upload-pack=x", tracking.ErrInvalidSource, `#ref: name begins with "-"`},
		{"source reflog #ref", parseSource, "github://a/b#main@{1}", tracking.ErrInvalidSource, `#ref: name contains "@{"`},
		{"source scp-like", parseSource, "git@host:x.git", tracking.ErrInvalidSource, `write "git+ssh://git@host/x.git"`},

		{"plugin dotdot", tracking.ValidatePluginName, "..", tracking.ErrInvalidPluginName, "begins with '.'"},
		{"plugin traversal", tracking.ValidatePluginName, "a/../../etc", tracking.ErrInvalidPluginName, "contains '/'"},
		{"plugin leading dash", tracking.ValidatePluginName, "--upload-pack=x", tracking.ErrInvalidPluginName, "begins with '-'"},
		{"plugin NUL", tracking.ValidatePluginName, "a\x00", tracking.ErrInvalidPluginName, `'\x00' (U+0000) at byte 1`},
		{"plugin newline", tracking.ValidatePluginName, "a\nb", tracking.ErrInvalidPluginName, `'\n' (U+000A) at byte 1`},
		{"plugin division slash", tracking.ValidatePluginName, "a\u2215b", tracking.ErrInvalidPluginName, `'∕' (U+2215) at byte 1`},
		{"plugin Cyrillic", tracking.ValidatePluginName, "pl\u0430gin", tracking.ErrInvalidPluginName, "(U+0430) at byte 2"},
		{"plugin RTL", tracking.ValidatePluginName, "a" + rtl, tracking.ErrInvalidPluginName, `'\u202e' (U+202E) at byte 1`},
		{"plugin invalid UTF-8", tracking.ValidatePluginName, "a\xff", tracking.ErrInvalidPluginName, "contains byte 0xff (not valid UTF-8) at byte 1"},
		{"plugin 10 KB", tracking.ValidatePluginName, big, tracking.ErrInvalidPluginName, "longer than 100 bytes (10240)"},
		{"plugin SQL", tracking.ValidatePluginName, "x';DROP", tracking.ErrInvalidPluginName, `contains '\''`},

		{"workspace leading dash", tracking.ValidateWorkspaceID, "-oProxyCommand=x", tracking.ErrInvalidWorkspaceID, "begins with '-'"},
		{"workspace dotdot path", tracking.ValidateWorkspaceID, "../x", tracking.ErrInvalidWorkspaceID, "begins with '.'"},
		{"workspace NUL", tracking.ValidateWorkspaceID, "w\x00", tracking.ErrInvalidWorkspaceID, "U+0000"},
		{"workspace newline", tracking.ValidateWorkspaceID, "w\nx", tracking.ErrInvalidWorkspaceID, "U+000A"},
		{"workspace 10 KB", tracking.ValidateWorkspaceID, big, tracking.ErrInvalidWorkspaceID, "longer than 128 bytes (10240)"},
		{"workspace Cyrillic", tracking.ValidateWorkspaceID, "w\u0430", tracking.ErrInvalidWorkspaceID, "(U+0430)"},
		{"workspace RTL", tracking.ValidateWorkspaceID, "w" + rtl, tracking.ErrInvalidWorkspaceID, "(U+202E)"},
		{"workspace SQL", tracking.ValidateWorkspaceID, "w';DROP", tracking.ErrInvalidWorkspaceID, `contains '\''`},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			err := tt.check(tt.in)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.sentinel)
			assert.ErrorContains(t, err, tt.rule)
			assert.LessOrEqual(t, len(err.Error()), 600, "hostile input must be truncated in messages")
			assert.NotContains(t, err.Error(), "\n", "the message must not carry raw control characters")
			assert.NotContains(t, err.Error(), "\x00")
			assert.NotContains(t, err.Error(), rtl)
		})
	}
}

// TestHostileInput_AcceptedByteForByte covers inputs that look suspicious
// but follow the rules: they are kept exactly as written.
func TestHostileInput_AcceptedByteForByte(t *testing.T) {
	cyrillic := "m\u0430in" // Cyrillic 'а' looks like Latin 'a'
	r, err := tracking.ParseRef(cyrillic)
	require.NoError(t, err)
	assert.Equal(t, tracking.RefBranch, r.Kind())
	assert.Equal(t, cyrillic, r.Name())
	assert.Equal(t, []byte("branch:m\xd0\xb0in"), []byte(r.String()))
	assert.NotEqual(t, "branch:main", r.String(), "a look-alike never folds into the ASCII name")

	// Git allows these characters; they are data, never passed to a shell.
	for _, name := range []string{"main';DROP", "$(touch${IFS}x)", "`id`", "a|b&c>d"} {
		r, err = tracking.ParseRef(name)
		require.NoError(t, err, name)
		assert.Equal(t, "branch:"+name, r.String())
	}

	src, err := tracking.ParseSource("github://acme/widget#" + cyrillic)
	require.NoError(t, err)
	assert.Equal(t, []byte("github://acme/widget#branch:m\xd0\xb0in"), []byte(src.String()))

	src, err = tracking.ParseSource("git+ssh://git@host/path-with-@-and-;")
	require.NoError(t, err)
	assert.Equal(t, "ssh://git@host/path-with-@-and-;", src.URL())
}
