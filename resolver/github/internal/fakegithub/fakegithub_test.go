package fakegithub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
)

func TestAnswersLikeGitHub(t *testing.T) {
	dir := t.TempDir()
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "trunk")
	require.NoError(t, err)
	c1, err := repo.Commit("trunk", "one")
	require.NoError(t, err)
	tagObj, err := repo.AnnotatedTag("v1.0.0", c1)
	require.NoError(t, err)
	require.NotEqual(t, c1, tagObj)
	_, err = fakegithub.InitRepo(filepath.Join(dir, "empty.git"), "main")
	require.NoError(t, err)

	srv := fakegithub.Start(fakegithub.Config{
		Path:   func(_, name string) string { return filepath.Join(dir, name+".git") },
		Prefix: "/api/v3",
	})
	t.Cleanup(srv.Close)
	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.BaseURL()+path, nil)
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}
	const accept = "Accept"
	const shaType = "application/vnd.github.v3.sha"

	resp, body := get("repos/o/widget")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var repoJSON struct {
		DefaultBranch string `json:"default_branch"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &repoJSON))
	assert.Equal(t, "trunk", repoJSON.DefaultBranch)

	for _, ref := range []string{"trunk", "heads/trunk", "refs/heads/trunk", "v1.0.0", "tags/v1.0.0", c1} {
		resp, body = get("repos/o/widget/commits/"+ref, accept, shaType)
		assert.Equal(t, http.StatusOK, resp.StatusCode, ref)
		assert.Equal(t, c1, body, "%s is peeled to its commit", ref)
		assert.Equal(t, `"`+c1+`"`, resp.Header.Get("ETag"))
	}
	resp, _ = get("repos/o/widget/commits/heads/trunk", accept, shaType, "If-None-Match", `"`+c1+`"`)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	resp, body = get("repos/o/widget/commits/heads/nope", accept, shaType)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, "No commit found for SHA: heads/nope")
	resp, _ = get("repos/o/empty/commits/heads/main", accept, shaType)
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = get("repos/o/missing")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	resp, body = get("repos/o/widget/tags")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tags []struct {
		Name   string `json:"name"`
		Commit struct {
			SHA string `json:"sha"`
		} `json:"commit"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tags))
	require.Len(t, tags, 1)
	assert.Equal(t, "v1.0.0", tags[0].Name)
	assert.Equal(t, c1, tags[0].Commit.SHA, "tags are listed peeled")
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp, _ = get("repos/o/widget/tags", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)

	log := srv.Requests()
	require.NotEmpty(t, log)
	assert.Equal(t, "/api/v3/repos/o/widget", log[0].Path)
	assert.Equal(t, http.StatusOK, log[0].Status)
}

func TestPaginatesWithLinkHeaders(t *testing.T) {
	dir := t.TempDir()
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "r.git"), "main")
	require.NoError(t, err)
	c1, err := repo.Commit("main", "one")
	require.NoError(t, err)
	require.NoError(t, repo.Tags(map[string]string{"a": c1, "b": c1, "c": c1}))
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, name string) string { return filepath.Join(dir, name+".git") }})
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.BaseURL() + "repos/o/r/tags?per_page=2&page=1")
	require.NoError(t, err)
	resp.Body.Close()
	base := srv.BaseURL() + "repos/o/r/tags"
	assert.Equal(t, `<`+base+`?per_page=2&page=2>; rel="next", <`+base+`?per_page=2&page=2>; rel="last"`, resp.Header.Get("Link"))

	resp, err = srv.Client().Get(srv.BaseURL() + "repos/o/r/tags?per_page=2&page=2")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, `<`+base+`?per_page=2&page=1>; rel="prev", <`+base+`?per_page=2&page=1>; rel="first"`, resp.Header.Get("Link"))
}

func TestScriptedFailuresComeFirst(t *testing.T) {
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, _ string) string { return "" }})
	t.Cleanup(srv.Close)
	srv.FailNext(2, fakegithub.TooManyRequests(30*time.Second))
	for _, want := range []int{http.StatusTooManyRequests, http.StatusTooManyRequests, http.StatusNotFound} {
		resp, err := srv.Client().Get(srv.BaseURL() + "repos/o/r")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode)
		if want == http.StatusTooManyRequests {
			assert.Equal(t, "30", resp.Header.Get("Retry-After"))
		}
	}
}

func TestLimitAnswersEverythingUntilLifted(t *testing.T) {
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, _ string) string { return "" }})
	t.Cleanup(srv.Close)
	status := func() int {
		t.Helper()
		resp, err := srv.Client().Get(srv.BaseURL() + "repos/o/r")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	srv.Limit(fakegithub.PrimaryLimit(time.Unix(2000000000, 0)))
	srv.FailNext(1, fakegithub.ServerError())
	assert.Equal(t, http.StatusInternalServerError, status(), "scripted answers come first")
	for range 3 {
		assert.Equal(t, http.StatusForbidden, status(), "then the limit, for every request")
	}
	srv.Unlimit()
	assert.Equal(t, http.StatusNotFound, status(), "lifted: the request is served")
	assert.Len(t, srv.Requests(), 5)
}
