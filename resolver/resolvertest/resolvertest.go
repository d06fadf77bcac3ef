// Package resolvertest is the conformance suite for resolver.Resolver: it
// builds fixture repositories with real git and holds every implementation
// to the same answers for every ref shape.
//
// An implementation's test connects it to the fixtures with a [Harness]
// and calls [Run]:
//
//	func TestConformance(t *testing.T) {
//		resolvertest.Run(t, resolvertest.Harness{
//			New: func(t *testing.T, repos *resolvertest.Repos) (resolver.Resolver, func(string) tracking.Source) {
//				base := resolvertest.ServeSmartHTTP(t, repos.Dir())
//				git, err := gitcli.New(nil)
//				require.NoError(t, err)
//				return git, func(repo string) tracking.Source {
//					src, err := tracking.ParseSource("git+" + base + "/" + repo + ".git")
//					require.NoError(t, err)
//					return src
//				}
//			},
//		})
//	}
//
// The expected answers come from the fixture builder ([Repos.SHA]), never
// from a resolver. Tests that need upstream repositories of their own can
// use [NewRepos] and [ServeSmartHTTP] directly.
package resolvertest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Harness connects an implementation to the fixtures.
type Harness struct {
	// New returns the resolver under test and a function that names, as a
	// source that resolver understands, the fixture repository called repo.
	// It is called once per test; cleanup goes through t.Cleanup.
	New func(t *testing.T, repos *Repos) (r resolver.Resolver, source func(repo string) tracking.Source)
}

// Run runs the suite. Besides the answers for every ref shape it holds an
// implementation to these rules of resolver.Resolver:
//   - an annotated tag resolves to its commit, never to the tag object;
//   - tag:latest and semver: compare versions as versions, skip tags that
//     are not versions and prereleases not asked for, and return the tag
//     name as written;
//   - a missing repository, branch or tag, a constraint no tag meets and
//     an empty repository match resolver.ErrNotFound;
//   - a moved tag or branch, a new version and a deleted branch are seen
//     on the next resolution, with or without Request.Known;
//   - with Request.Known equal to the answer, Unchanged may be set, but
//     SHA and Version are the same either way;
//   - untracked refs (none, sha:) are refused with resolver.ErrUnsupported;
//   - a cancelled context fails with an error matching context.Canceled.
func Run(t *testing.T, h Harness) {
	t.Helper()
	repos := NewRepos(t)

	for _, c := range answerCases() {
		t.Run(c.name, func(t *testing.T) {
			r, source := h.New(t, repos)
			res, err := r.Resolve(t.Context(), request(t, source(c.repo), c.ref))
			if c.tip == "" {
				require.ErrorIs(t, err, resolver.ErrNotFound, "result %+v", res)
				require.ErrorIs(t, err, tracking.ErrNotFound)
				return
			}
			require.NoError(t, err)
			expect(t, res, repos.SHA(c.repo, c.tip), c.version, c.revisionName())
			if tag := c.annotatedTag(repos); tag != "" {
				assert.NotEqual(t, tag, res.SHA, "the annotated tag object was returned instead of its commit")
			}
		})
	}

	t.Run("untracked refs are refused", func(t *testing.T) {
		r, source := h.New(t, repos)
		pinned, err := tracking.SHARef(repos.SHA(RepoPlugin, "refs/heads/main"))
		require.NoError(t, err)
		for _, ref := range []tracking.Ref{{}, pinned} {
			_, err := r.Resolve(t.Context(), resolver.Request{Source: source(RepoPlugin), Ref: ref})
			assert.ErrorIs(t, err, resolver.ErrUnsupported, "%s", ref)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		r, source := h.New(t, repos)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := r.Resolve(ctx, request(t, source(RepoPlugin), "branch:main"))
		require.ErrorIs(t, err, context.Canceled)
	})

	t.Run("known answer", func(t *testing.T) {
		r, source := h.New(t, repos)
		for _, c := range []struct{ ref, tip, version, name string }{
			{"branch:main", "refs/heads/main", "", "main"},
			{"tag:v1.2.0", "refs/tags/v1.2.0", "v1.2.0", "v1.2.0"},
			{"tag:latest", "refs/tags/v1.10.0+build.1", "v1.10.0+build.1", "v1.10.0+build.1"},
		} {
			req := request(t, source(RepoPlugin), c.ref)
			first, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, c.ref)
			req.Known = known(first)
			again, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, c.ref)
			// Unchanged is optional (it needs a conditional request); the
			// answer is not.
			expect(t, again, repos.SHA(RepoPlugin, c.tip), c.version, c.name)
		}
	})

	t.Run("stale known answer", func(t *testing.T) {
		r, source := h.New(t, repos)
		req := request(t, source(RepoPlugin), "branch:main")
		req.Known = resolver.Known{SHA: repos.SHA(RepoPlugin, "refs/heads/dev")}
		res, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		assert.False(t, res.Unchanged, "Unchanged with a SHA other than Known's")
		expect(t, res, repos.SHA(RepoPlugin, "refs/heads/main"), "", "main")
	})

	// The cases below change the repositories, each its own copy.

	t.Run("moved tags", func(t *testing.T) {
		repos := NewRepos(t)
		r, source := h.New(t, repos)
		for _, tag := range []string{"v1.0.0", "v1.2.0"} { // lightweight, annotated
			req := request(t, source(RepoPlugin), "tag:"+tag)
			before, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, tag)
			expect(t, before, repos.SHA(RepoPlugin, "refs/tags/"+tag), tag, tag)

			moved := repos.MoveTag(t, RepoPlugin, tag)
			require.NotEqual(t, before.SHA, moved)
			req.Known = known(before)
			after, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, tag)
			assert.False(t, after.Unchanged, "%s moved but the resolver reported Unchanged", tag)
			expect(t, after, moved, tag, tag)
			assert.NotEqual(t, repos.TagObject(RepoPlugin, tag), after.SHA, "tag object returned for %s", tag)
		}
	})

	t.Run("moved branch", func(t *testing.T) {
		repos := NewRepos(t)
		r, source := h.New(t, repos)
		var tips [2]resolver.Result
		for i, ref := range []string{"branch:main", "head"} {
			res, err := r.Resolve(t.Context(), request(t, source(RepoPlugin), ref))
			require.NoError(t, err, ref)
			tips[i] = res
		}
		tip := repos.Commit(t, RepoPlugin, "main")
		for i, ref := range []string{"branch:main", "head"} {
			req := request(t, source(RepoPlugin), ref)
			req.Known = known(tips[i])
			res, err := r.Resolve(t.Context(), req)
			require.NoError(t, err, ref)
			assert.False(t, res.Unchanged, ref)
			expect(t, res, tip, "", "main")
		}
	})

	t.Run("new version", func(t *testing.T) {
		repos := NewRepos(t)
		r, source := h.New(t, repos)
		req := request(t, source(RepoPlugin), "tag:latest")
		before, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		tip := repos.AddTag(t, RepoPlugin, "v1.11.0", "dev", true)
		req.Known = known(before)
		after, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		assert.False(t, after.Unchanged)
		expect(t, after, tip, "v1.11.0", "v1.11.0")
	})

	t.Run("deleted branch", func(t *testing.T) {
		repos := NewRepos(t)
		r, source := h.New(t, repos)
		req := request(t, source(RepoPlugin), "branch:dev")
		before, err := r.Resolve(t.Context(), req)
		require.NoError(t, err)
		repos.DeleteBranch(t, RepoPlugin, "dev")
		req.Known = known(before)
		res, err := r.Resolve(t.Context(), req)
		require.ErrorIs(t, err, resolver.ErrNotFound, "result %+v", res)
	})
}

// answerCase is one resolution with a known answer: the commit the full
// ref tip points at (peeled), or ErrNotFound when tip is "".
type answerCase struct {
	name    string
	repo    string
	ref     string // as a user writes it, parsed with tracking.ParseRef
	tip     string
	version string
	// revision is the name in Result.Revision; "" means version.
	revision string
}

// revisionName is the name Result.Revision must carry.
func (c answerCase) revisionName() string {
	if c.revision != "" {
		return c.revision
	}
	return c.version
}

// annotatedTag returns the tag object id when the case selects an
// annotated tag.
func (c answerCase) annotatedTag(repos *Repos) string {
	if c.version == "" {
		return ""
	}
	return repos.TagObject(c.repo, c.version)
}

func answerCases() []answerCase {
	return []answerCase{
		{name: "branch", repo: RepoPlugin, ref: "branch:main", tip: "refs/heads/main", revision: "main"},
		{name: "branch with a slash", repo: RepoPlugin, ref: "branch:feature/x", tip: "refs/heads/feature/x", revision: "feature/x"},
		{name: "bare-name branch", repo: RepoPlugin, ref: "dev", tip: "refs/heads/dev", revision: "dev"},
		{name: "branch whose name ends like a tag ref", repo: RepoPlugin, ref: "branch:trap/refs/tags/v1.2.0", tip: "refs/heads/trap/refs/tags/v1.2.0", revision: "trap/refs/tags/v1.2.0"},
		{name: "head", repo: RepoPlugin, ref: "head", tip: "refs/heads/main", revision: "main"},
		{name: "head of another default branch", repo: RepoTrunk, ref: "head", tip: "refs/heads/trunk", revision: "trunk"},
		{name: "tag lightweight", repo: RepoPlugin, ref: "tag:v1.0.0", tip: "refs/tags/v1.0.0", version: "v1.0.0"},
		{name: "tag annotated", repo: RepoPlugin, ref: "tag:v1.2.0", tip: "refs/tags/v1.2.0", version: "v1.2.0"},
		{name: "tag annotated prerelease", repo: RepoPlugin, ref: "tag:2.0.0-rc.1", tip: "refs/tags/2.0.0-rc.1", version: "2.0.0-rc.1"},
		{name: "tag with build metadata", repo: RepoPlugin, ref: "tag:v1.10.0+build.1", tip: "refs/tags/v1.10.0+build.1", version: "v1.10.0+build.1"},
		{name: "tag that is not a version", repo: RepoPlugin, ref: "tag:nightly", tip: "refs/tags/nightly", version: "nightly"},
		{name: "tag annotated not a version", repo: RepoPlugin, ref: "tag:release-2024", tip: "refs/tags/release-2024", version: "release-2024"},
		// v1.10.0+build.1 ties with v1.10.0 and sorts last; both beat v1.9.0.
		{name: "tag latest", repo: RepoPlugin, ref: "tag:latest", tip: "refs/tags/v1.10.0+build.1", version: "v1.10.0+build.1"},
		{name: "semver caret", repo: RepoPlugin, ref: "semver:^1.2", tip: "refs/tags/v1.10.0+build.1", version: "v1.10.0+build.1"},
		{name: "semver tilde", repo: RepoPlugin, ref: "semver:~1.9.0", tip: "refs/tags/v1.9.0", version: "v1.9.0"},
		{name: "semver range", repo: RepoPlugin, ref: "semver:>=1.0 <2", tip: "refs/tags/v1.10.0+build.1", version: "v1.10.0+build.1"},
		{name: "semver range below 1.10", repo: RepoPlugin, ref: "semver:>=1.0 <1.10", tip: "refs/tags/v1.9.0", version: "v1.9.0"},
		{name: "semver selecting an annotated tag", repo: RepoPlugin, ref: "semver:~1.2", tip: "refs/tags/v1.2.0", version: "v1.2.0"},
		{name: "semver below", repo: RepoPlugin, ref: "semver:<1.2", tip: "refs/tags/v1.0.0", version: "v1.0.0"},
		{name: "semver naming a prerelease", repo: RepoPlugin, ref: "semver:>=2.0.0-0", tip: "refs/tags/2.0.0-rc.1", version: "2.0.0-rc.1"},

		{name: "missing branch", repo: RepoPlugin, ref: "branch:nope"},
		{name: "missing tag", repo: RepoPlugin, ref: "tag:v9.9.9"},
		{name: "tag asked as a branch", repo: RepoPlugin, ref: "branch:v1.0.0"},
		{name: "branch asked as a tag", repo: RepoPlugin, ref: "tag:dev"},
		{name: "semver without a match", repo: RepoPlugin, ref: "semver:>=3"},
		{name: "tag latest without tags", repo: RepoTrunk, ref: "tag:latest"},
		{name: "missing repository branch", repo: RepoMissing, ref: "branch:main"},
		{name: "missing repository head", repo: RepoMissing, ref: "head"},
		{name: "missing repository tag latest", repo: RepoMissing, ref: "tag:latest"},
		{name: "empty repository head", repo: RepoEmpty, ref: "head"},
		{name: "empty repository branch", repo: RepoEmpty, ref: "branch:main"},
		{name: "empty repository tag", repo: RepoEmpty, ref: "tag:v1.0.0"},
		{name: "empty repository semver", repo: RepoEmpty, ref: "semver:>=0"},
	}
}

func request(t *testing.T, src tracking.Source, ref string) resolver.Request {
	t.Helper()
	r, err := tracking.ParseRef(ref)
	require.NoError(t, err)
	return resolver.Request{Source: src, Ref: r}
}

// expect checks the three fields every answer has.
func expect(t *testing.T, res resolver.Result, sha, version, name string) {
	t.Helper()
	require.NotEmpty(t, sha, "the fixture has no such ref")
	assert.Equal(t, sha, res.SHA, "SHA")
	assert.Equal(t, version, res.Version, "Version")
	assert.Equal(t, resolver.Revision(name, sha), res.Revision, "Revision")
}

// known is what a caller passes back after res: Request.Known.
func known(res resolver.Result) resolver.Known {
	return resolver.Known{SHA: res.SHA, Version: res.Version, Validator: res.Validator}
}
