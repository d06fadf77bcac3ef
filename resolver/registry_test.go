package resolver_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// recorder answers every request with its own name as the SHA and
// remembers what it was asked.
type recorder struct {
	sha string

	mu   sync.Mutex
	seen []resolver.Request
}

func (r *recorder) Resolve(_ context.Context, req resolver.Request) (resolver.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, req)
	return resolver.Result{SHA: r.sha}, nil
}

var (
	gitSource    = must(tracking.ParseSource("git+https://example.com/acme/plugin.git"))
	githubSource = must(tracking.ParseSource("github://acme/plugin"))
	localSource  = must(tracking.ParseSource("local://plugin"))
	mainBranch   = must(tracking.BranchRef("main"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustRegistry(t *testing.T, byScheme map[tracking.SourceScheme]resolver.Resolver) *resolver.Registry {
	t.Helper()
	reg, err := resolver.NewRegistry(byScheme)
	require.NoError(t, err)
	return reg
}

func TestNewRegistryRefusesNonsense(t *testing.T) {
	git := &recorder{sha: "git"}
	for name, tc := range map[string]struct {
		byScheme map[tracking.SourceScheme]resolver.Resolver
		want     string
	}{
		"nil resolver":   {map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGit: git, tracking.SchemeGitHub: nil}, `the resolver for "github" is nil`},
		"local scheme":   {map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeLocal: git}, `scheme "local" has no upstream`},
		"unknown scheme": {map[tracking.SourceScheme]resolver.Resolver{"svn": git}, `scheme "svn" has no upstream`},
		"empty scheme":   {map[tracking.SourceScheme]resolver.Resolver{"": git}, `scheme "" has no upstream`},
		"url scheme":     {map[tracking.SourceScheme]resolver.Resolver{"git+https": git}, `scheme "git+https" has no upstream`},
	} {
		t.Run(name, func(t *testing.T) {
			reg, err := resolver.NewRegistry(tc.byScheme)
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.Nil(t, reg)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	assert.Empty(t, git.seen)
}

func TestRegistryRoutesByScheme(t *testing.T) {
	git, gh := &recorder{sha: "git"}, &recorder{sha: "github"}
	reg := mustRegistry(t, map[tracking.SourceScheme]resolver.Resolver{
		tracking.SchemeGit:    git,
		tracking.SchemeGitHub: gh,
	})

	res, err := reg.Resolve(t.Context(), resolver.Request{Source: gitSource, Ref: mainBranch})
	require.NoError(t, err)
	assert.Equal(t, "git", res.SHA)
	res, err = reg.Resolve(t.Context(), resolver.Request{Source: githubSource, Ref: mainBranch, Known: resolver.Known{SHA: "x"}})
	require.NoError(t, err)
	assert.Equal(t, "github", res.SHA)

	require.Len(t, git.seen, 1)
	assert.Equal(t, gitSource, git.seen[0].Source)
	require.Len(t, gh.seen, 1)
	assert.Equal(t, resolver.Request{Source: githubSource, Ref: mainBranch, Known: resolver.Known{SHA: "x"}}, gh.seen[0], "the request is passed unchanged")
}

func TestRegistryUnsupportedScheme(t *testing.T) {
	git := &recorder{sha: "git"}
	reg := mustRegistry(t, map[tracking.SourceScheme]resolver.Resolver{
		tracking.SchemeGit: git,
	})
	for _, src := range []tracking.Source{githubSource, localSource, {}} {
		_, err := reg.Resolve(t.Context(), resolver.Request{Source: src, Ref: mainBranch})
		require.ErrorIs(t, err, resolver.ErrUnsupported, "%+v", src)
	}
	assert.Empty(t, git.seen)

	_, err := mustRegistry(t, nil).Resolve(t.Context(), resolver.Request{Source: gitSource, Ref: mainBranch})
	require.ErrorIs(t, err, resolver.ErrUnsupported)
}

func TestRegistryCopiesItsMap(t *testing.T) {
	m := map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGit: &recorder{sha: "first"}}
	reg := mustRegistry(t, m)
	m[tracking.SchemeGit] = &recorder{sha: "second"}
	m[tracking.SchemeGitHub] = &recorder{sha: "github"}

	res, err := reg.Resolve(t.Context(), resolver.Request{Source: gitSource, Ref: mainBranch})
	require.NoError(t, err)
	assert.Equal(t, "first", res.SHA)
	_, err = reg.Resolve(t.Context(), resolver.Request{Source: githubSource, Ref: mainBranch})
	require.ErrorIs(t, err, resolver.ErrUnsupported)
}

func TestRegistryConcurrentUse(t *testing.T) {
	git := &recorder{sha: "git"}
	reg := mustRegistry(t, map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGit: git})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				_, err := reg.Resolve(context.Background(), resolver.Request{Source: gitSource, Ref: mainBranch})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.Len(t, git.seen, 400)
}

func TestRevision(t *testing.T) {
	sha1 := "0123456789abcdef0123456789abcdef01234567"
	sha256 := sha1 + "0123456789abcdef01234567"
	assert.Equal(t, "v1.2.3@sha1:"+sha1, resolver.Revision("v1.2.3", sha1))
	assert.Equal(t, "main@sha256:"+sha256, resolver.Revision("main", sha256))
}

func TestErrNotFoundMatchesTracking(t *testing.T) {
	assert.ErrorIs(t, resolver.ErrNotFound, tracking.ErrNotFound)
}

func TestRateLimitError(t *testing.T) {
	var err error = &resolver.RateLimitError{Host: "api.github.com", RetryAfter: 42 * time.Second}
	assert.ErrorIs(t, err, resolver.ErrRateLimited)
	assert.NotErrorIs(t, err, resolver.ErrNotFound)
	assert.Equal(t, "resolver: rate limited by api.github.com: retry after 42s", err.Error())
}

// checker is a recorder that also implements the optional interfaces,
// answering with its own name.
type checker struct{ recorder }

func (c *checker) NotAncestors(context.Context, tracking.Source, string, []string) ([]string, error) {
	return []string{c.sha}, nil
}

func (c *checker) ReadObjects(context.Context, tracking.Source, tracking.Ref, resolver.Result) (resolver.Objects, error) {
	return resolver.Objects{Commit: []byte(c.sha)}, nil
}

// TestRegistryRoutesOptionalInterfaces holds NotAncestors and ReadObjects
// to the scheme's resolver, and to ErrUnsupported, naming what is missing,
// for a scheme whose resolver lacks the interface or that has none.
func TestRegistryRoutesOptionalInterfaces(t *testing.T) {
	reg := mustRegistry(t, map[tracking.SourceScheme]resolver.Resolver{
		tracking.SchemeGit:    &checker{recorder{sha: "git"}},
		tracking.SchemeGitHub: &recorder{sha: "github"},
	})
	shas, err := reg.NotAncestors(t.Context(), gitSource, "tip", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"git"}, shas)
	objs, err := reg.ReadObjects(t.Context(), gitSource, mainBranch, resolver.Result{})
	require.NoError(t, err)
	assert.Equal(t, []byte("git"), objs.Commit)

	for _, src := range []tracking.Source{githubSource, localSource} {
		_, err := reg.NotAncestors(t.Context(), src, "tip", nil)
		require.ErrorIs(t, err, resolver.ErrUnsupported, "%+v", src)
		assert.Contains(t, err.Error(), "no ancestry check for")
		_, err = reg.ReadObjects(t.Context(), src, mainBranch, resolver.Result{})
		require.ErrorIs(t, err, resolver.ErrUnsupported, "%+v", src)
		assert.Contains(t, err.Error(), "no object reader for")
	}
}
