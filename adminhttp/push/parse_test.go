package push

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func repos(t testing.TB, urls ...string) []tracking.RepoKey {
	t.Helper()
	var out []tracking.RepoKey
	for _, u := range urls {
		k, err := tracking.ParseRepoURL(u)
		require.NoError(t, err)
		out = append(out, k)
	}
	return out
}

func TestParseProviderPayloads(t *testing.T) {
	github := repos(t, "github.com/acme/widget")
	gitlab := repos(t, "gitlab.example.com/acme/tools/widget")
	gitea := repos(t, "gitea.local/acme/widget")
	for _, tt := range []struct {
		provider Provider
		event    string
		file     string
		want     event
	}{
		{GitHub, "push", "github-push.json", event{action: actionCheck, repos: github, branch: "main", defaultBranch: "main"}},
		{GitHub, "create", "github-create-tag.json", event{action: actionCheck, repos: github, tag: "v1.3.0", defaultBranch: "main"}},
		{GitHub, "delete", "github-delete-branch.json", event{action: actionCheck, repos: github, branch: "feature", defaultBranch: "main"}},
		{GitHub, "release", "github-release.json", event{action: actionCheck, repos: github, tag: "v2.0.0", defaultBranch: "main"}},
		{GitHub, "ping", "github-ping.json", event{action: actionPing, repos: github}},
		{GitHub, "issues", "github-push.json", event{action: actionIgnore, repos: github, defaultBranch: "main"}},
		{GitLab, "Push Hook", "gitlab-push.json", event{action: actionCheck, repos: gitlab, branch: "main", defaultBranch: "main"}},
		{GitLab, "Tag Push Hook", "gitlab-tag-push.json", event{action: actionCheck, repos: gitlab, tag: "v1.3.0", defaultBranch: "main"}},
		{GitLab, "Merge Request Hook", "gitlab-push.json", event{action: actionIgnore, repos: gitlab, defaultBranch: "main"}},
		{Gitea, "push", "gitea-push.json", event{action: actionCheck, repos: gitea, branch: "main", defaultBranch: "main"}},
		{Gitea, "create", "gitea-create-tag.json", event{action: actionCheck, repos: gitea, tag: "v1.3.0", defaultBranch: "main"}},
		{Gitea, "release", "gitea-release.json", event{action: actionCheck, repos: gitea, tag: "v2.0.0", defaultBranch: "main"}},
	} {
		t.Run(tt.file+"/"+tt.event, func(t *testing.T) {
			got, err := parse(tt.provider, tt.event, fixture(t, tt.file))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseGeneric(t *testing.T) {
	got, err := parseGeneric([]byte(`{"repository":"git@github.com:Acme/Widget.git","ref":"refs/tags/v1.0.0"}`))
	require.NoError(t, err)
	assert.Equal(t, event{action: actionCheck, repos: repos(t, "github.com/acme/widget"), tag: "v1.0.0"}, got)

	got, err = parseGeneric([]byte(`{"repository":"file:///srv/git/widget.git"}`))
	require.NoError(t, err)
	assert.Equal(t, event{action: actionCheck, repos: repos(t, "/srv/git/widget"), allRefs: true}, got, "no ref: every ref")

	got, err = parseGeneric([]byte(`{"repository":"https://h/a/b","ref":"refs/pull/1/head"}`))
	require.NoError(t, err)
	assert.Equal(t, actionIgnore, got.action, "a ref no install can track")

	for _, body := range []string{`{"ref":"refs/heads/main"}`, `{"repository":"not a url","ref":"refs/heads/main"}`, `[1]`, `{"repository":`} {
		_, err := parseGeneric([]byte(body))
		assert.Error(t, err, body)
	}
}

func TestParseRefusesPayloadsOfKnownEventsWithoutRepository(t *testing.T) {
	_, err := parseHub("push", []byte(`{"ref":"refs/heads/main"}`))
	assert.ErrorIs(t, err, errNoRepository)
	_, err = parseGitLab("Push Hook", []byte(`{"ref":"refs/heads/main","project":{"web_url":"nope"}}`))
	assert.ErrorIs(t, err, errNoRepository)
	_, err = parseHub("push", []byte(`{"ref":`))
	assert.Error(t, err)
	ev, err := parseHub("watch", []byte(`not json`))
	assert.NoError(t, err, "an event that moves no ref is never an error")
	assert.Equal(t, actionIgnore, ev.action)
}

func TestConcerns(t *testing.T) {
	ref := func(s string) tracking.Ref {
		r, err := tracking.ParseRef(s)
		require.NoError(t, err)
		return r
	}
	all := []string{"branch:main", "branch:dev", "head", "tag:v1.3.0", "tag:v1.2.0", "tag:latest", "semver:^1.2", "semver:^2", "semver:>=1.3.0-0", "none", "sha:" + strings.Repeat("a", 40)}
	for _, tt := range []struct {
		name string
		ev   event
		want []string
	}{
		{"push to the default branch", event{branch: "main", defaultBranch: "main"}, []string{"branch:main", "head"}},
		{"push to another branch", event{branch: "dev", defaultBranch: "main"}, []string{"branch:dev"}},
		{"push, default branch unknown", event{branch: "dev"}, []string{"branch:dev", "head"}},
		{"stable version tag", event{tag: "v1.3.0"}, []string{"tag:v1.3.0", "tag:latest", "semver:^1.2", "semver:>=1.3.0-0"}},
		{"prerelease tag", event{tag: "v1.4.0-rc.1"}, []string{"semver:>=1.3.0-0"}},
		{"tag that is not a version", event{tag: "nightly"}, nil},
		{"no ref named", event{allRefs: true}, []string{"branch:main", "branch:dev", "head", "tag:v1.3.0", "tag:v1.2.0", "tag:latest", "semver:^1.2", "semver:^2", "semver:>=1.3.0-0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.action = actionCheck
			var got []string
			for _, s := range all {
				if tt.ev.concerns(ref(s)) {
					got = append(got, s)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// fuzzParser checks what every parser promises on any input: no panic,
// an action it knows, identities that are valid and distinct, exactly
// one of branch, tag and allRefs for a check, and a repository for it.
func fuzzParser(t *testing.T, ev event, err error) {
	if err != nil {
		assert.NotEqual(t, actionCheck, ev.action)
		return
	}
	seen := map[tracking.RepoKey]bool{}
	for _, k := range ev.repos {
		require.True(t, k.IsValid())
		require.False(t, seen[k], "duplicate %s", k)
		seen[k] = true
	}
	switch ev.action {
	case actionCheck:
		require.NotEmpty(t, ev.repos)
		n := 0
		for _, set := range []bool{ev.branch != "", ev.tag != "", ev.allRefs} {
			if set {
				n++
			}
		}
		require.Equal(t, 1, n, "%+v", ev)
	case actionPing, actionIgnore:
		require.Empty(t, ev.branch+ev.tag)
	default:
		t.Fatalf("unknown action %d", ev.action)
	}
}

func FuzzParseHub(f *testing.F) {
	for _, c := range []struct{ event, file string }{
		{"push", "github-push.json"}, {"create", "github-create-tag.json"}, {"delete", "github-delete-branch.json"},
		{"release", "github-release.json"}, {"ping", "github-ping.json"}, {"push", "gitea-push.json"},
		{"create", "gitea-create-tag.json"}, {"release", "gitea-release.json"},
	} {
		f.Add(c.event, fixture(f, c.file))
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		ev, err := parseHub(name, body)
		fuzzParser(t, ev, err)
	})
}

func FuzzParseGitLab(f *testing.F) {
	f.Add("Push Hook", fixture(f, "gitlab-push.json"))
	f.Add("Tag Push Hook", fixture(f, "gitlab-tag-push.json"))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		ev, err := parseGitLab(name, body)
		fuzzParser(t, ev, err)
	})
}

func FuzzParseGeneric(f *testing.F) {
	f.Add([]byte(`{"repository":"https://github.com/acme/widget.git","ref":"refs/heads/main"}`))
	f.Add([]byte(`{"repository":"file:///srv/git/widget"}`))
	f.Add([]byte(`{"repository":"git@h:a/b.git","ref":"refs/tags/v1.0.0","default_branch":"main"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parseGeneric(body)
		fuzzParser(t, ev, err)
	})
}
