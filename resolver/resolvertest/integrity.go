package resolvertest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
)

// ForcePush rewrites branch of repo as "git commit --amend; git push
// --force" would: its tip is replaced by a new commit on the tip's parent
// (a new root commit when the tip has none), so the old tip is no longer
// in the branch's history. It returns the new tip.
func (r *Repos) ForcePush(t testing.TB, repo, branch string) string {
	t.Helper()
	full := "refs/heads/" + branch
	old := r.SHA(repo, full)
	if old == "" {
		t.Fatalf("resolvertest: %s has no branch %q", repo, branch)
	}
	parent := strings.TrimSpace(git(t, r.Path(repo), nil, "rev-list", "--max-count=1", "--skip=1", old))
	s := r.newStream()
	s.commit(full, parent, "rewritten "+branch)
	r.apply(t, repo, s)
	return r.SHA(repo, full)
}

// RunAncestry holds a resolver.AncestryChecker to the answers of the
// fixture repositories before and after a real force-push of RepoPlugin's
// main branch. h.New's resolver must implement resolver.AncestryChecker,
// configured to check (gitcli needs a HistoryCacheDir).
func RunAncestry(t *testing.T, h Harness) {
	repos := NewRepos(t)
	res, source := h.New(t, repos)
	ac, ok := res.(resolver.AncestryChecker)
	require.True(t, ok, "the resolver does not implement resolver.AncestryChecker")
	src := source(RepoPlugin)
	ctx := t.Context()

	first := repos.SHA(RepoPlugin, "refs/tags/v0.9.0")
	rc := repos.SHA(RepoPlugin, "refs/tags/2.0.0-rc.1") // the parent of main's tip
	tip := repos.SHA(RepoPlugin, "refs/heads/main")
	dev := repos.SHA(RepoPlugin, "refs/heads/dev") // forked from main earlier
	unknown := strings.Repeat("e", 40)

	got, err := ac.NotAncestors(ctx, src, tip, []string{first, rc, tip, dev})
	require.NoError(t, err)
	assert.Equal(t, []string{dev}, got, "before the force-push: main's own history descends, another branch does not")

	rewritten := repos.ForcePush(t, RepoPlugin, "main")
	got, err = ac.NotAncestors(ctx, src, rewritten, []string{first, tip, rc, unknown})
	require.NoError(t, err)
	assert.Equal(t, []string{tip, unknown}, got, "after the force-push: the old tip, and a commit nobody knows, are left behind")

	got, err = ac.NotAncestors(ctx, src, rewritten, nil)
	require.NoError(t, err)
	assert.Empty(t, got, "no commits asked about")

	_, err = ac.NotAncestors(ctx, src, strings.Repeat("d", 40), []string{first})
	assert.ErrorIs(t, err, resolver.ErrNotFound, "an unknown tip")
}
