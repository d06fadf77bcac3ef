package tracking_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

func TestSourceRepositoryIdentifiesOneRepositoryAcrossURLShapes(t *testing.T) {
	want := "github.com/acme/widget"
	for _, s := range []string{
		"github://acme/widget",
		"github://Acme/Widget.git#tag:v1.0.0",
		"github://github.com/acme/widget",
		"git+https://github.com/acme/widget",
		"git+https://github.com/acme/widget.git",
		"git+https://GitHub.com:443/Acme/widget.git",
		"git+http://github.com/acme/widget",
		"git+ssh://git@github.com/acme/widget.git",
		"git+ssh://git@github.com:22/acme/widget",
	} {
		src, err := tracking.ParseSource(s)
		require.NoError(t, err, s)
		require.Equal(t, want, src.Repository().String(), s)
	}
	for _, tt := range []struct{ source, want string }{
		{"github://ghe.example.com/acme/widget", "ghe.example.com/acme/widget"},
		{"git+https://gitlab.example.com/group/sub/widget.git", "gitlab.example.com/group/sub/widget"},
		{"git+file:///srv/git/widget.git", "/srv/git/widget"},
		{"git+https://[::1]:8080/acme/widget", "[::1]/acme/widget"},
	} {
		src, err := tracking.ParseSource(tt.source)
		require.NoError(t, err)
		require.Equal(t, tt.want, src.Repository().String(), tt.source)
	}
	local, err := tracking.ParseSource("local://widget")
	require.NoError(t, err)
	require.False(t, local.Repository().IsValid(), "a local source has no repository")
}

func TestParseRepoURLReadsWebhookPayloadURLs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://github.com/acme/widget", "github.com/acme/widget"},
		{"https://github.com/acme/widget.git", "github.com/acme/widget"},
		{"https://github.com/acme/widget/", "github.com/acme/widget"},
		{"git://github.com/acme/widget.git", "github.com/acme/widget"},
		{"git@github.com:acme/widget.git", "github.com/acme/widget"},
		{"ssh://git@github.com/acme/widget.git", "github.com/acme/widget"},
		{"https://user:token@github.com/acme/widget.git", "github.com/acme/widget"},
		{"github://acme/widget", "github.com/acme/widget"},
		{"github.com/acme/widget", "github.com/acme/widget"},
		{"git@gitlab.example.com:group/sub/widget.git", "gitlab.example.com/group/sub/widget"},
		{"http://gitea.local:3000/acme/widget.git", "gitea.local/acme/widget"},
		{"ssh://git@gitea.local:2222/acme/widget.git", "gitea.local/acme/widget"},
		{"file:///srv/git/widget.git", "/srv/git/widget"},
		{"git+file:///srv/git/widget", "/srv/git/widget"},
		{"/srv/git/widget", "/srv/git/widget"},
		{"git@[::1]:acme/widget.git", "[::1]/acme/widget"},
		{"[::1]/acme/widget", "[::1]/acme/widget"},
	} {
		k, err := tracking.ParseRepoURL(tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, k.String(), tt.in)
		require.NotContains(t, k.String(), "token", "a key never holds a credential")
	}
	for _, in := range []string{"", "https://", "https://github.com", "https://github.com/", "ftp://host/a", "ext::sh -c x", "widget", "https://host/a/../b", "https://host/a//b", strings.Repeat("a/", 600)} {
		k, err := tracking.ParseRepoURL(in)
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, in)
		require.False(t, k.IsValid())
	}
}

func FuzzParseRepoURL(f *testing.F) {
	for _, s := range []string{
		"https://github.com/acme/widget.git", "git@github.com:acme/widget.git", "ssh://git@h:22/a/b",
		"github://acme/widget", "file:///srv/git/w", "/srv/git/w", "[::1]/a/b", "git@[::1]:a/b",
		"github.com/acme/widget", "https://u:p@h/a", "git+ssh://git@h/a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := tracking.ParseRepoURL(s)
		if err != nil {
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			require.False(t, k.IsValid())
			require.LessOrEqual(t, len(err.Error()), maxErrorLen)
		} else {
			require.True(t, k.IsValid())
			again, err := tracking.ParseRepoURL(k.String())
			require.NoError(t, err, "the key %q must parse", k)
			require.Equal(t, k, again, "ParseRepoURL(k.String()) must return k")
			require.Equal(t, strings.ToLower(k.String()), k.String())
			require.False(t, strings.HasSuffix(k.String(), ".git") || strings.HasSuffix(k.String(), "/"), k.String())
			host, _, _ := strings.Cut(k.String(), "/")
			require.NotContains(t, host, "@", "a key never holds a user")
		}
		// Every source with an upstream has a key, and the URL it names
		// parses to that same key.
		src, err := tracking.ParseSource(s)
		if err != nil || !src.HasUpstream() {
			return
		}
		key := src.Repository()
		require.True(t, key.IsValid(), "source %q has no repository key", s)
		fromSource, err := tracking.ParseRepoURL(src.String())
		require.NoError(t, err, src.String())
		require.Equal(t, key, fromSource)
		if src.URL() != "" {
			fromURL, err := tracking.ParseRepoURL(src.URL())
			require.NoError(t, err, src.URL())
			require.Equal(t, key, fromURL)
		}
	})
}
