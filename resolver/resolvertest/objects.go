package resolvertest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
)

// Refs of the signed fixtures RunObjects adds to RepoPlugin.
const (
	// SignedBranch is a branch off main whose tip is a commit signed with
	// the suite's key.
	SignedBranch = "signed"
	// SignedTagName is an annotated tag, signed with the suite's key, on
	// SignedBranch's tip; the highest version of RepoPlugin once added.
	SignedTagName = "v3.1.0"
)

// RunObjects holds a resolver.ObjectReader to the raw objects of the
// fixture repositories: RepoPlugin plus a commit and an annotated tag
// signed with a throwaway SSH key (SignedBranch, SignedTagName). h.New's
// resolver must implement resolver.ObjectReader. Each case resolves a ref
// with the resolver itself and reads the objects of that resolution:
//   - the commit (and for tag refs the annotated tag) is byte for byte
//     what `git cat-file` prints in the fixture repository, signature
//     headers included; a signed object is always handed over;
//   - an unsigned object may instead be nil, but only when Objects.Host
//     says the host judged it unverified;
//   - branches, head and lightweight tags have no tag object;
//   - a tag that moved after the resolution, or whose tag object names
//     another tag, is an error that does not match resolver.ErrNotFound;
//   - a commit or tag that is gone matches resolver.ErrNotFound;
//   - a cancelled context fails with an error matching context.Canceled.
func RunObjects(t *testing.T, h Harness) {
	t.Helper()
	repos := NewRepos(t)
	key := NewSigningKey(t)
	signed := repos.SignedCommit(t, RepoPlugin, SignedBranch, "refs/heads/main", key)
	repos.SignedTag(t, RepoPlugin, SignedTagName, SignedBranch, key)
	r, source := h.New(t, repos)
	or, ok := r.(resolver.ObjectReader)
	require.True(t, ok, "the resolver does not implement resolver.ObjectReader")
	src := source(RepoPlugin)

	read := func(t *testing.T, ref string) (resolver.Result, resolver.Objects, error) {
		t.Helper()
		req := request(t, src, ref)
		res, err := r.Resolve(t.Context(), req)
		require.NoError(t, err, ref)
		objs, err := or.ReadObjects(t.Context(), src, req.Ref, res)
		return res, objs, err
	}
	rawCommit := func(sha string) []byte { return repos.RawObject(t, RepoPlugin, "commit", sha) }
	rawTag := func(tag string) []byte {
		return repos.RawObject(t, RepoPlugin, "tag", repos.TagObject(RepoPlugin, tag))
	}
	signedTag := rawTag(SignedTagName)
	require.Contains(t, string(rawCommit(signed)), "\ngpgsig -----BEGIN SSH SIGNATURE-----\n", "the fixture commit is signed")
	require.Contains(t, string(signedTag), "\n-----BEGIN SSH SIGNATURE-----\n", "the fixture tag is signed")

	for _, ref := range []string{"branch:" + SignedBranch, "tag:" + SignedTagName, "tag:latest", "semver:^3"} {
		t.Run("signed "+ref, func(t *testing.T) {
			res, objs, err := read(t, ref)
			require.NoError(t, err)
			require.Equal(t, signed, res.SHA)
			assert.Equal(t, string(rawCommit(signed)), string(objs.Commit), "the signed commit, byte for byte")
			if strings.HasPrefix(ref, "branch:") {
				assert.Nil(t, objs.Tag, "a branch has no tag object")
			} else {
				assert.Equal(t, string(signedTag), string(objs.Tag), "the signed tag, byte for byte")
			}
		})
	}

	for _, c := range []struct{ ref, tip, tag string }{
		{"branch:main", "refs/heads/main", ""},
		{"head", "refs/heads/main", ""},
		{"tag:v1.9.0", "refs/tags/v1.9.0", ""},       // lightweight
		{"tag:v1.2.0", "refs/tags/v1.2.0", "v1.2.0"}, // annotated, unsigned
	} {
		t.Run("unsigned "+c.ref, func(t *testing.T) {
			res, objs, err := read(t, c.ref)
			require.NoError(t, err)
			sha := repos.SHA(RepoPlugin, c.tip)
			require.Equal(t, sha, res.SHA)
			unsignedObject(t, "commit", rawCommit(sha), objs.Commit, objs.Host, func(v *resolver.HostVerdict) *resolver.HostCheck { return v.Commit })
			if c.tag == "" {
				assert.Nil(t, objs.Tag, "no tag object for %s", c.ref)
				return
			}
			unsignedObject(t, "tag", rawTag(c.tag), objs.Tag, objs.Host, func(v *resolver.HostVerdict) *resolver.HostCheck { return v.Tag })
		})
	}

	t.Run("gone", func(t *testing.T) {
		main := request(t, src, "branch:main").Ref
		unknown := strings.Repeat("e", 40)
		_, err := or.ReadObjects(t.Context(), src, main, resolver.Result{SHA: unknown, Revision: resolver.Revision("main", unknown)})
		require.ErrorIs(t, err, resolver.ErrNotFound, "an unknown commit")
		missing := request(t, src, "tag:v9.9.9").Ref
		tip := repos.SHA(RepoPlugin, "refs/heads/main")
		_, err = or.ReadObjects(t.Context(), src, missing, resolver.Result{SHA: tip, Version: "v9.9.9", Revision: resolver.Revision("v9.9.9", tip)})
		require.ErrorIs(t, err, resolver.ErrNotFound, "a tag that does not exist")
	})

	t.Run("cancelled context", func(t *testing.T) {
		req := request(t, src, "tag:"+SignedTagName)
		res, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err = or.ReadObjects(ctx, src, req.Ref, res)
		require.ErrorIs(t, err, context.Canceled)
	})

	// The cases below change the repositories, each its own copy.

	t.Run("moved tags", func(t *testing.T) {
		repos := NewRepos(t)
		repos.SignedCommit(t, RepoPlugin, SignedBranch, "refs/heads/main", key)
		repos.SignedTag(t, RepoPlugin, SignedTagName, SignedBranch, key)
		r, source := h.New(t, repos)
		or := r.(resolver.ObjectReader)
		src := source(RepoPlugin)
		for _, tag := range []string{SignedTagName, "v1.0.0"} { // annotated, lightweight
			req := request(t, src, "tag:"+tag)
			before, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, tag)
			repos.MoveTag(t, RepoPlugin, tag)
			_, err = or.ReadObjects(t.Context(), src, req.Ref, before)
			require.Error(t, err, "%s moved after it was resolved", tag)
			assert.NotErrorIs(t, err, resolver.ErrNotFound, tag)
			assert.Contains(t, err.Error(), "moved", tag)
		}
	})

	t.Run("tag object of another tag", func(t *testing.T) {
		repos := NewRepos(t)
		// refs/tags/v7.0.0 points at the tag object of v1.2.0, whose tag
		// line says v1.2.0: a signature over that object vouches for
		// v1.2.0, not for v7.0.0.
		object := repos.TagObject(RepoPlugin, "v1.2.0")
		git(t, repos.Path(RepoPlugin), nil, "update-ref", "refs/tags/v7.0.0", object)
		repos.record(RepoPlugin, "refs/tags/v7.0.0", fixtureRef{commit: repos.SHA(RepoPlugin, "refs/tags/v1.2.0"), tagObject: object})
		r, source := h.New(t, repos)
		src := source(RepoPlugin)
		req := request(t, src, "tag:v7.0.0")
		res, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		_, err = r.(resolver.ObjectReader).ReadObjects(t.Context(), src, req.Ref, res)
		require.Error(t, err)
		assert.NotErrorIs(t, err, resolver.ErrNotFound)
		assert.Contains(t, err.Error(), `"v1.2.0"`, "the error names the tag the object is of")
	})
}

// unsignedObject checks an unsigned object: the raw bytes want, or nil
// when the host's verdict (check of host) says it is not verified.
func unsignedObject(t *testing.T, kind string, want, got []byte, host *resolver.HostVerdict, check func(*resolver.HostVerdict) *resolver.HostCheck) {
	t.Helper()
	if got != nil {
		assert.Equal(t, string(want), string(got), "the unsigned %s, byte for byte", kind)
		return
	}
	require.NotNil(t, host, "the %s was not handed over, and no host verdict says why", kind)
	verdict := check(host)
	require.NotNil(t, verdict, "the %s was not handed over, and the host said nothing of it", kind)
	assert.False(t, verdict.Verified, "the %s was not handed over, yet the host verified it", kind)
}
