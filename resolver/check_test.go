package resolver_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestCheckSource(t *testing.T) {
	for _, s := range []string{"github://acme/plugin", "git+https://example.com/acme/plugin.git", "git+ssh://git@example.com/acme/plugin.git", "git+file:///srv/plugin.git", "github://acme/plugin#tag:v1.0.0"} {
		src, err := tracking.ParseSource(s)
		require.NoError(t, err, s)
		assert.NoError(t, resolver.CheckSource(src), s)
	}
	for _, tc := range []struct {
		src  tracking.Source
		want error
	}{
		{tracking.Source{Scheme: tracking.SchemeLocal, Name: "plugin"}, resolver.ErrUnsupported},
		{tracking.Source{}, resolver.ErrUnsupported},
		{tracking.Source{Scheme: "ext", URL: "ext::sh"}, resolver.ErrUnsupported},
		{tracking.Source{Scheme: tracking.SchemeGit, URL: "-x"}, tracking.ErrInvalidSource},
		{tracking.Source{Scheme: tracking.SchemeGit, URL: "https://user:secret@example.com/a.git"}, tracking.ErrInvalidSource},
		{tracking.Source{Scheme: tracking.SchemeGitHub, Owner: "acme", Repo: "widget.git"}, tracking.ErrInvalidSource},
		{tracking.Source{Scheme: tracking.SchemeGitHub, Owner: "acme", Repo: "widget#branch:x"}, tracking.ErrInvalidSource},
		{tracking.Source{Scheme: tracking.SchemeGitHub, Owner: "acme", Repo: "plugin", URL: "ext::sh"}, tracking.ErrInvalidSource},
		{tracking.Source{Scheme: tracking.SchemeGitHub, Owner: strings.Repeat("a", 500) + "\n", Repo: "x"}, tracking.ErrInvalidSource},
	} {
		err := resolver.CheckSource(tc.src)
		require.ErrorIs(t, err, tc.want, "%+v", tc.src)
		assert.NotContains(t, err.Error(), "\n")
		assert.Less(t, len(err.Error()), 400, "hostile input is shortened: %s", err)
	}
}

func TestCheckRef(t *testing.T) {
	for _, s := range []string{"tag:v1.2.3", "tag:latest", "semver:^1.2", "branch:feature/x", "head"} {
		ref, err := tracking.ParseRef(s)
		require.NoError(t, err, s)
		assert.NoError(t, resolver.CheckRef(ref), s)
	}
	for _, tc := range []struct {
		ref  tracking.Ref
		want error
	}{
		{tracking.Ref{}, resolver.ErrUnsupported},
		{tracking.Ref{Kind: tracking.RefNone}, resolver.ErrUnsupported},
		{tracking.Ref{Kind: tracking.RefSHA, Name: strings.Repeat("a", 40)}, resolver.ErrUnsupported},
		{tracking.Ref{Kind: tracking.RefBranch, Name: "-x"}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: tracking.RefBranch, Name: "refs/heads/main"}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: tracking.RefTag, Name: "v1\nrefs/heads/x"}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: tracking.RefSemver, Name: " ^1.0 "}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: tracking.RefHead, Name: "main"}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: tracking.RefLatest, Name: "x"}, tracking.ErrInvalidRef},
		{tracking.Ref{Kind: "exec", Name: "sh"}, tracking.ErrInvalidRef},
	} {
		err := resolver.CheckRef(tc.ref)
		require.ErrorIs(t, err, tc.want, "%+v", tc.ref)
		assert.NotContains(t, err.Error(), "\n")
	}
}
