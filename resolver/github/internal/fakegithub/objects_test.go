package fakegithub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
)

// TestGitObjectsLikeGitHub: the git database endpoints answer in
// GitHub's shape: an unsigned object's verification has null signature
// and payload, refs name their object's type, unknown objects are 404.
func TestGitObjectsLikeGitHub(t *testing.T) {
	dir := t.TempDir()
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "main")
	require.NoError(t, err)
	c1, err := repo.Commit("main", "one")
	require.NoError(t, err)
	tagObj, err := repo.AnnotatedTag("v1.0.0", c1)
	require.NoError(t, err)
	require.NoError(t, repo.Tag("light", c1))
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, name string) string { return filepath.Join(dir, name+".git") }})
	t.Cleanup(srv.Close)
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := srv.Client().Get(srv.BaseURL() + "repos/o/widget/git/" + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var v map[string]any
		require.NoError(t, json.Unmarshal(b, &v), string(b))
		return resp.StatusCode, v
	}

	status, commit := get("commits/" + c1)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, c1, commit["sha"])
	assert.Equal(t, map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil, "verified_at": nil}, commit["verification"])

	status, ref := get("ref/tags/v1.0.0")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "refs/tags/v1.0.0", ref["ref"])
	assert.Equal(t, "tag", ref["object"].(map[string]any)["type"])
	assert.Equal(t, tagObj, ref["object"].(map[string]any)["sha"])
	_, ref = get("ref/tags/light")
	assert.Equal(t, "commit", ref["object"].(map[string]any)["type"])

	status, tag := get("tags/" + tagObj)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "v1.0.0", tag["tag"])
	assert.Equal(t, map[string]any{"type": "commit", "sha": c1, "url": srv.BaseURL() + "repos/o/widget/git/commits/" + c1}, tag["object"])

	srv.Judge(c1, fakegithub.Verdict{Reason: "unknown_key"})
	_, commit = get("commits/" + c1)
	assert.Equal(t, "unknown_key", commit["verification"].(map[string]any)["reason"])

	for _, path := range []string{"commits/" + tagObj, "tags/" + c1, "commits/0123456789abcdef0123456789abcdef01234567", "ref/tags/missing", "ref/notes/x", "trees/" + c1} {
		status, _ := get(path)
		assert.Equal(t, http.StatusNotFound, status, path)
	}
}
