package resolvertest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitRefs lists what git itself says repo's refs point at: full name to
// "commit" or "commit tagobject" for annotated tags.
func gitRefs(t *testing.T, r *Repos, repo string) map[string]string {
	t.Helper()
	out := git(t, r.Path(repo), nil, "for-each-ref", "--format=%(refname) %(*objectname) %(objectname)")
	refs := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 3 { // annotated: peeled commit, then the tag object
			refs[f[0]] = f[1] + " " + f[2]
		} else {
			refs[f[0]] = f[1]
		}
	}
	return refs
}

// recorded lists the builder's record in the same shape as gitRefs.
func recorded(r *Repos, repo string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	refs := map[string]string{}
	for name, fr := range r.refs[repo] {
		refs[name] = strings.TrimSpace(fr.commit + " " + fr.tagObject)
	}
	return refs
}

func TestRecordsMatchGit(t *testing.T) {
	r := NewRepos(t)
	for _, repo := range []string{RepoPlugin, RepoTrunk, RepoEmpty} {
		assert.Equal(t, gitRefs(t, r, repo), recorded(r, repo), repo)
		head := strings.TrimSpace(git(t, r.Path(repo), nil, "symbolic-ref", "HEAD"))
		assert.Equal(t, "refs/heads/"+r.DefaultBranch(repo), head)
	}
	assert.Empty(t, recorded(r, RepoEmpty))
	assert.NotEmpty(t, r.TagObject(RepoPlugin, "v1.2.0"))
	assert.Empty(t, r.TagObject(RepoPlugin, "v1.0.0"))
	assert.NotEqual(t, r.SHA(RepoPlugin, "refs/tags/v1.2.0"), r.TagObject(RepoPlugin, "v1.2.0"))

	oldMain := r.SHA(RepoPlugin, "refs/heads/main")
	tip := r.Commit(t, RepoPlugin, "main")
	assert.NotEqual(t, oldMain, tip)
	assert.Equal(t, oldMain, strings.TrimSpace(git(t, r.Path(RepoPlugin), nil, "rev-parse", tip+"^")))

	for _, tag := range []string{"v1.0.0", "v1.2.0"} {
		old, oldObject := r.SHA(RepoPlugin, "refs/tags/"+tag), r.TagObject(RepoPlugin, tag)
		moved := r.MoveTag(t, RepoPlugin, tag)
		assert.NotEqual(t, old, moved)
		assert.Equal(t, oldObject == "", r.TagObject(RepoPlugin, tag) == "", "%s keeps its kind", tag)
	}
	r.AddTag(t, RepoPlugin, "v1.11.0", "dev", true)
	r.AddTag(t, RepoPlugin, "v1.12.0", "dev", false)
	r.DeleteBranch(t, RepoPlugin, "feature/x")
	assert.Empty(t, r.SHA(RepoPlugin, "refs/heads/feature/x"))
	assert.Equal(t, gitRefs(t, r, RepoPlugin), recorded(r, RepoPlugin), "after the changes")
}

func TestFixturesAreDeterministic(t *testing.T) {
	a, b := NewRepos(t), NewRepos(t)
	assert.Equal(t, recorded(a, RepoPlugin), recorded(b, RepoPlugin))
	assert.Equal(t, recorded(a, RepoTrunk), recorded(b, RepoTrunk))
	require.Equal(t, a.MoveTag(t, RepoPlugin, "v1.2.0"), b.MoveTag(t, RepoPlugin, "v1.2.0"))
}
