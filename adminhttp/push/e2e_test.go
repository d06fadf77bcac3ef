package push_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// countingResolver records which upstreams were resolved.
type countingResolver struct {
	resolver.Resolver
	mu    sync.Mutex
	calls []tracking.UpstreamKey
}

func (c *countingResolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	c.mu.Lock()
	c.calls = append(c.calls, tracking.UpstreamKey{Source: req.Source, Ref: req.Ref})
	c.mu.Unlock()
	return c.Resolver.Resolve(ctx, req)
}

func (c *countingResolver) take() []tracking.UpstreamKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

// TestSignedPushesOfRealUpstreamsQueueExactlyTheirEntries runs the whole
// path on real git repositories, served over smart HTTP and read from
// disk: a provider's signed payload names the repository, the receiver
// records the checks, the worker resolves exactly those upstreams with
// git and the queue gets exactly their entries.
func TestSignedPushesOfRealUpstreamsQueueExactlyTheirEntries(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	base := resolvertest.ServeSmartHTTP(t, repos.Dir())
	host := strings.TrimPrefix(base, "http://")
	overHTTP := "git+" + base + "/" + resolvertest.RepoPlugin + ".git"
	onDisk := "git+file://" + repos.Path(resolvertest.RepoPlugin)
	trunk := "git+" + base + "/" + resolvertest.RepoTrunk + ".git"

	store := memstore.New()
	git, err := gitcli.New(&gitcli.Config{AllowFile: true})
	require.NoError(t, err)
	res := &countingResolver{Resolver: git}
	sw, err := drift.NewSweeper(store, res, nil)
	require.NoError(t, err)
	worker, err := drift.NewCheckWorker(sw, nil)
	require.NoError(t, err)
	h, err := push.NewHandler(push.Config{Store: store, Secrets: secrets})
	require.NoError(t, err)

	ctx := context.Background()
	installs := map[string]tracking.UpstreamKey{}
	follow := func(plugin, source, ref, commit string) {
		k := tracking.UpstreamKey{Source: mustSource(t, source), Ref: mustRef(t, ref)}
		_, err := store.UpsertInstall(ctx, tracking.Install{WorkspaceID: "ws", PluginName: plugin, Source: k.Source, Ref: k.Ref, InstalledSHA: commit, UpdatedAt: t0})
		require.NoError(t, err)
		installs[plugin] = k
	}
	mainSHA := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	follow("main-http", overHTTP, "branch:main", mainSHA)
	follow("head-http", overHTTP, "head", mainSHA)
	follow("dev-http", overHTTP, "branch:dev", repos.SHA(resolvertest.RepoPlugin, "refs/heads/dev"))
	follow("latest-http", overHTTP, "tag:latest", repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.10.0+build.1"))
	follow("main-disk", onDisk, "branch:main", mainSHA)
	follow("latest-disk", onDisk, "tag:latest", repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.10.0+build.1"))
	follow("trunk", trunk, "branch:trunk", repos.SHA(resolvertest.RepoTrunk, "refs/heads/trunk"))
	rep, err := sw.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Failed, "%+v", rep.Errors)
	require.Zero(t, rep.Queued, "everything starts up to date")
	res.take()

	post := func(headers map[string]string, body []byte) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/hooks/plugindrift", bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
	queued := func() []string {
		t.Helper()
		us, err := store.ListUpdates(ctx, storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: storage.MaxLimit})
		require.NoError(t, err)
		var names []string
		for _, u := range us {
			names = append(names, u.PluginName)
		}
		return names
	}
	keysOf := func(plugins ...string) []tracking.UpstreamKey {
		var out []tracking.UpstreamKey
		for _, p := range plugins {
			out = append(out, installs[p])
		}
		return out
	}

	// A push to main, in GitHub's payload, naming the smart HTTP server.
	repos.Commit(t, resolvertest.RepoPlugin, "main")
	body := bytes.ReplaceAll(fixture(t, "github-push.json"), []byte("github.com/acme/widget"), []byte(host+"/plugin"))
	post(github("push", "gh-1", body, "gh-secret"), body)
	rep2, err := worker.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep2.Checks.Failed, "%+v", rep2.Checks.Errors)
	assert.ElementsMatch(t, keysOf("main-http", "head-http"), res.take(), "only main and head of that repository")
	assert.ElementsMatch(t, []string{"main-http", "head-http"}, queued())

	// A new release tag, in GitLab's Tag Push payload, naming the
	// repository on disk.
	repos.AddTag(t, resolvertest.RepoPlugin, "v1.11.0", "main", true)
	glBody := []byte(`{"object_kind":"tag_push","ref":"refs/tags/v1.11.0","before":"0000000000000000000000000000000000000000",
		"project":{"web_url":"file://` + repos.Path(resolvertest.RepoPlugin) + `","git_http_url":"file://` + repos.Path(resolvertest.RepoPlugin) + `","default_branch":"main"}}`)
	post(gitlab("Tag Push Hook", "gl-1", "gl-token"), glBody)
	_, err = worker.RunOnce(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, keysOf("latest-disk"), res.take(), "only tag:latest of the repository on disk")
	assert.ElementsMatch(t, []string{"main-http", "head-http", "latest-disk"}, queued())

	// The generic form for the other repository, and Gitea's push for
	// the same tag over HTTP.
	repos.Commit(t, resolvertest.RepoTrunk, "trunk")
	gen := []byte(`{"repository":"` + base + `/trunk.git","ref":"refs/heads/trunk"}`)
	post(generic(gen, "generic-secret", "g-1"), gen)
	gtBody := bytes.ReplaceAll(fixture(t, "gitea-create-tag.json"), []byte("v1.3.0"), []byte("v1.11.0"))
	gtBody = bytes.ReplaceAll(gtBody, []byte("gitea.local:3000/acme/widget"), []byte(host+"/plugin"))
	post(gitea("create", "gt-1", gtBody, "gt-secret"), gtBody)
	_, err = worker.RunOnce(ctx)
	require.NoError(t, err)
	assert.ElementsMatch(t, keysOf("trunk", "latest-http"), res.take())
	assert.ElementsMatch(t, []string{"main-http", "head-http", "latest-disk", "trunk", "latest-http"}, queued())
	for _, p := range []string{"dev-http", "main-disk"} {
		u, err := store.GetUpstream(ctx, installs[p])
		require.NoError(t, err)
		assert.True(t, u.LastPushAt.IsZero(), "%s was never named by a push", p)
	}
}

func mustSource(t *testing.T, s string) tracking.Source {
	t.Helper()
	src, err := tracking.ParseSource(s)
	require.NoError(t, err)
	return src
}

func mustRef(t *testing.T, s string) tracking.Ref {
	t.Helper()
	r, err := tracking.ParseRef(s)
	require.NoError(t, err)
	return r
}
