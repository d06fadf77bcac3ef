package github_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gogithub "github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/fakeclock"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/tracking"
)

// clock is the tests' injected clock.
type clock = fakeclock.Clock

func newClock() *clock { return fakeclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// env is a fake GitHub serving the bare repositories <dir>/<repo>.git for
// any owner, and a Resolver pointed at it.
type env struct {
	t     *testing.T
	dir   string
	srv   *fakegithub.Server
	clock *clock
	r     *github.Resolver
}

// envOption adjusts the fake's configuration and the resolver's; auth is
// the resolver's Auth of the fake's host.
type envOption func(f *fakegithub.Config, g *github.Config, auth *github.Auth)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	fcfg := fakegithub.Config{Path: func(_, repo string) string { return filepath.Join(dir, repo+".git") }}
	e := &env{t: t, dir: dir, clock: newClock()}
	gcfg := github.Config{Now: e.clock.Now}
	var auth github.Auth
	for _, o := range opts {
		o(&fcfg, &gcfg, &auth)
	}
	e.srv = fakegithub.Start(fcfg)
	t.Cleanup(e.srv.Close)
	gcfg.Hosts = mustHosts(t, resolver.GitHubHost{Name: e.host(), APIBaseURL: e.srv.BaseURL()})
	gcfg.Auth = map[string]github.Auth{e.host(): auth}
	r, err := github.New(&gcfg)
	require.NoError(t, err)
	e.r = r
	return e
}

func (e *env) repo(name, defaultBranch string) *fakegithub.Repo {
	e.t.Helper()
	repo, err := fakegithub.InitRepo(filepath.Join(e.dir, name+".git"), defaultBranch)
	require.NoError(e.t, err)
	return repo
}

func (e *env) resolve(repo string, ref tracking.Ref, known resolver.Known) (resolver.Result, error) {
	return e.r.Resolve(context.Background(), resolver.Request{Source: src(repo), Ref: ref, Known: known})
}

func (e *env) mustResolve(repo string, ref tracking.Ref, known resolver.Known) resolver.Result {
	e.t.Helper()
	res, err := e.resolve(repo, ref, known)
	require.NoError(e.t, err)
	return res
}

// mustHosts is resolver.NewGitHubHosts that fails t.
func mustHosts(t testing.TB, hosts ...resolver.GitHubHost) resolver.GitHubHosts {
	t.Helper()
	h, err := resolver.NewGitHubHosts(hosts...)
	require.NoError(t, err)
	return h
}

// hostConfig is a Config for the one GitHub host name whose API is at
// apiBaseURL.
func hostConfig(t testing.TB, name, apiBaseURL string) github.Config {
	return github.Config{Hosts: mustHosts(t, resolver.GitHubHost{Name: name, APIBaseURL: apiBaseURL})}
}

// host is the fake's host, which the resolver serves as a GitHub host of
// that name.
func (e *env) host() string {
	u, err := url.Parse(e.srv.URL())
	require.NoError(e.t, err)
	return u.Host
}

func src(repo string) tracking.Source { return must(tracking.GitHubSource("", "acme", repo)) }

func branch(name string) tracking.Ref { return must(tracking.BranchRef(name)) }
func tag(name string) tracking.Ref    { return must(tracking.TagRef(name)) }
func semverRef(c string) tracking.Ref { return must(tracking.SemverRef(c)) }

var (
	head   = must(tracking.ParseRef("head"))
	latest = must(tracking.ParseRef("tag:latest"))
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func commit(t *testing.T, repo *fakegithub.Repo, branch, msg string) string {
	t.Helper()
	sha, err := repo.Commit(branch, msg)
	require.NoError(t, err)
	return sha
}

func TestResolveEachRefShape(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	c2 := commit(t, repo, "main", "two")
	dev := commit(t, repo, "dev", "dev")
	require.NoError(t, repo.Tag("v1.0.0", c1))
	tagObj, err := repo.AnnotatedTag("v1.1.0", c2)
	require.NoError(t, err)
	require.NoError(t, repo.Tag("v2.0.0-rc.1", dev))
	require.NoError(t, repo.Tag("nightly", dev))
	// A branch and a tag of the same name: each ref shape gets its own.
	require.NoError(t, repo.Tag("dev", c1))

	for _, tc := range []struct {
		ref              tracking.Ref
		sha, version, rv string
	}{
		{branch("main"), c2, "", "main@sha1:" + c2},
		{branch("dev"), dev, "", "dev@sha1:" + dev},
		{tag("dev"), c1, "dev", "dev@sha1:" + c1},
		{tag("v1.0.0"), c1, "v1.0.0", "v1.0.0@sha1:" + c1},
		{tag("v1.1.0"), c2, "v1.1.0", "v1.1.0@sha1:" + c2}, // annotated: peeled
		{head, c2, "", "main@sha1:" + c2},
		{latest, c2, "v1.1.0", "v1.1.0@sha1:" + c2},
		{semverRef("^1.0"), c2, "v1.1.0", "v1.1.0@sha1:" + c2},
		{semverRef("~1.0.0"), c1, "v1.0.0", "v1.0.0@sha1:" + c1},
		{semverRef(">=2.0.0-0"), dev, "v2.0.0-rc.1", "v2.0.0-rc.1@sha1:" + dev},
	} {
		t.Run(tc.ref.String(), func(t *testing.T) {
			res := e.mustResolve("widget", tc.ref, resolver.Known{})
			assert.Equal(t, tc.sha, res.SHA)
			assert.NotEqual(t, tagObj, res.SHA, "an annotated tag's own id is never a result")
			assert.Equal(t, tc.version, res.Version)
			assert.Equal(t, tc.rv, res.Revision)
			assert.False(t, res.Unchanged)
		})
	}
}

func TestSecondResolveOfUnchangedBranchIsA304(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")

	first := e.mustResolve("widget", branch("main"), resolver.Known{})
	require.Equal(t, c1, first.SHA)
	log := e.srv.Requests()
	require.Len(t, log, 1)
	assert.Equal(t, http.StatusOK, log[0].Status)
	assert.Empty(t, log[0].IfNoneMatch)

	known := resolver.Known{SHA: first.SHA, Version: first.Version, Validator: first.Validator}
	second := e.mustResolve("widget", branch("main"), known)
	assert.Equal(t, resolver.Result{SHA: c1, Revision: "main@sha1:" + c1, Unchanged: true}, second)
	log = e.srv.Requests()
	require.Len(t, log, 2)
	assert.Equal(t, "/repos/acme/widget/commits/heads/main", log[1].Path)
	assert.Equal(t, `"`+c1+`"`, log[1].IfNoneMatch)
	assert.Equal(t, http.StatusNotModified, log[1].Status)

	// Once the branch moves, the same conditional request returns the new tip.
	c2 := commit(t, repo, "main", "two")
	third := e.mustResolve("widget", branch("main"), known)
	assert.Equal(t, c2, third.SHA)
	assert.False(t, third.Unchanged)
	assert.Equal(t, http.StatusOK, e.srv.Requests()[2].Status)
}

func TestConditionalOnlyWhenKnownFitsTheRef(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	require.NoError(t, repo.Tag("v1.0.0", c1))

	// Known says a version for a branch: inconsistent, so no condition is
	// sent and the answer is a fresh one.
	res := e.mustResolve("widget", branch("main"), resolver.Known{SHA: c1, Version: "v1.0.0"})
	assert.False(t, res.Unchanged)
	assert.Empty(t, e.srv.Requests()[0].IfNoneMatch)

	// A tag's Known must name the tag.
	res = e.mustResolve("widget", tag("v1.0.0"), resolver.Known{SHA: c1, Version: "v1.0.0"})
	assert.True(t, res.Unchanged)
	assert.Equal(t, "v1.0.0", res.Version)
	assert.Equal(t, "v1.0.0@sha1:"+c1, res.Revision)

	// A malformed known SHA is never sent.
	res = e.mustResolve("widget", branch("main"), resolver.Known{SHA: "not-a-sha\r\nX: y"})
	assert.False(t, res.Unchanged)
	assert.Empty(t, e.srv.Requests()[2].IfNoneMatch)
}

func TestMovedTagResolvesToNewCommit(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	c2 := commit(t, repo, "main", "two")
	_, err := repo.AnnotatedTag("v1.0.0", c1)
	require.NoError(t, err)
	first := e.mustResolve("widget", tag("v1.0.0"), resolver.Known{})
	require.Equal(t, c1, first.SHA)

	_, err = repo.AnnotatedTag("v1.0.0", c2)
	require.NoError(t, err)
	moved := e.mustResolve("widget", tag("v1.0.0"), resolver.Known{SHA: first.SHA, Version: first.Version})
	assert.Equal(t, c2, moved.SHA)
	assert.False(t, moved.Unchanged)
}

func TestHeadFollowsTheDefaultBranch(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	dev := commit(t, repo, "dev", "dev")

	res := e.mustResolve("widget", head, resolver.Known{})
	assert.Equal(t, "main@sha1:"+c1, res.Revision)
	log := e.srv.Requests()
	require.Len(t, log, 2)
	assert.Equal(t, "/repos/acme/widget", log[0].Path)
	assert.Equal(t, "/repos/acme/widget/commits/heads/main", log[1].Path)

	require.NotEmpty(t, res.Validator, "the repository's ETag is kept")

	// Both requests are conditional: the repository on its ETag, the
	// commit on the SHA; neither costs rate limit.
	e.srv.ResetRequests()
	known := resolver.Known{SHA: c1, Validator: res.Validator}
	unchanged := e.mustResolve("widget", head, known)
	assert.True(t, unchanged.Unchanged)
	assert.Equal(t, "main@sha1:"+c1, unchanged.Revision)
	assert.Equal(t, res.Validator, unchanged.Validator)
	log = e.srv.Requests()
	require.Len(t, log, 2)
	for _, req := range log {
		assert.Equal(t, http.StatusNotModified, req.Status, req.Path)
	}

	// Without the validator the repository is asked for again; the answer
	// has a validator Known lacks, so it is not an echo of Known.
	again := e.mustResolve("widget", head, resolver.Known{SHA: c1})
	assert.Equal(t, c1, again.SHA)
	assert.False(t, again.Unchanged)
	assert.Equal(t, res.Validator, again.Validator)

	// A renamed default branch changes the repository's ETag: followed at
	// once.
	require.NoError(t, repo.SetDefaultBranch("dev"))
	res = e.mustResolve("widget", head, known)
	assert.Equal(t, dev, res.SHA)
	assert.Equal(t, "dev@sha1:"+dev, res.Revision)
	assert.False(t, res.Unchanged)
}

func TestTagListIsConditional(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	require.NoError(t, repo.Tag("v1.0.0", c1))

	first := e.mustResolve("widget", latest, resolver.Known{})
	require.Equal(t, "v1.0.0", first.Version)
	require.NotEmpty(t, first.Validator, "a one-page tag list yields its ETag")

	known := resolver.Known{SHA: first.SHA, Version: first.Version, Validator: first.Validator}
	second := e.mustResolve("widget", latest, known)
	assert.Equal(t, resolver.Result{SHA: c1, Version: "v1.0.0", Revision: "v1.0.0@sha1:" + c1, Unchanged: true, Validator: first.Validator}, second)
	log := e.srv.Requests()
	require.Len(t, log, 2)
	assert.Equal(t, strings.TrimPrefix(first.Validator, "tags1 "), log[1].IfNoneMatch, "the page's own ETag is sent")
	assert.Equal(t, http.StatusNotModified, log[1].Status)

	c2 := commit(t, repo, "main", "two")
	require.NoError(t, repo.Tag("v1.1.0", c2))
	third := e.mustResolve("widget", latest, known)
	assert.Equal(t, "v1.1.0", third.Version)
	assert.Equal(t, c2, third.SHA)
	assert.False(t, third.Unchanged)
	assert.NotEqual(t, first.Validator, third.Validator)
}

func TestTagListPaginates(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("many", "main")
	c1 := commit(t, repo, "main", "one")
	top := commit(t, repo, "main", "top")
	targets := map[string]string{}
	for i := range 249 {
		targets[fmt.Sprintf("v0.%d.0", i)] = c1
	}
	// Without the "v" it sorts after every other name, on the last page.
	targets["0.250.0"] = top
	targets["v1.0.0-rc.1"] = c1 // a prerelease above every release
	require.NoError(t, repo.Tags(targets))

	res := e.mustResolve("many", latest, resolver.Known{})
	assert.Equal(t, "0.250.0", res.Version)
	assert.Equal(t, top, res.SHA)
	assert.Len(t, strings.Fields(res.Validator), 4, "the validator keeps every page's ETag")

	var pages []string
	for _, r := range e.srv.Requests() {
		require.Equal(t, "/repos/acme/many/tags", r.Path)
		q, err := url.ParseQuery(r.Query)
		require.NoError(t, err)
		assert.Equal(t, "100", q.Get("per_page"))
		pages = append(pages, q.Get("page"))
	}
	assert.Equal(t, []string{"1", "2", "3"}, pages)

	// The answer was not on the first page, so only following the pages
	// finds it.
	resp, err := e.srv.Client().Get(e.srv.BaseURL() + "repos/acme/many/tags?per_page=100&page=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	assert.False(t, strings.Contains(buf.String(), `"0.250.0"`), "the highest version is not on page 1")

	// Unchanged: every page answers 304 to its own ETag.
	e.srv.ResetRequests()
	known := resolver.Known{SHA: res.SHA, Version: res.Version, Validator: res.Validator}
	same := e.mustResolve("many", latest, known)
	assert.True(t, same.Unchanged)
	assert.Equal(t, res.Validator, same.Validator)
	etags := strings.Fields(res.Validator)[1:]
	log := e.srv.Requests()
	require.Len(t, log, 3)
	for i, req := range log {
		assert.Equal(t, http.StatusNotModified, req.Status)
		assert.Equal(t, etags[i], req.IfNoneMatch)
	}

	// A tag that lands on the last page: pages 1 and 2 answer 304, the
	// third changed; the first two are read again and the list is whole.
	newer := commit(t, repo, "main", "newer")
	require.NoError(t, repo.Tag("0.251.0", newer))
	e.srv.ResetRequests()
	moved := e.mustResolve("many", latest, known)
	assert.False(t, moved.Unchanged)
	assert.Equal(t, "0.251.0", moved.Version)
	assert.Equal(t, newer, moved.SHA)
	var statuses []int
	for _, req := range e.srv.Requests() {
		statuses = append(statuses, req.Status)
	}
	assert.Equal(t, []int{304, 304, 200, 200, 200}, statuses)
}

// TestTagListFullLastPage: a list that fills its last page also keeps the
// ETag of the empty page after it, so a tag added there is seen.
func TestTagListFullLastPage(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("exact", "main")
	c1 := commit(t, repo, "main", "one")
	targets := map[string]string{}
	for i := range 200 {
		targets[fmt.Sprintf("v1.%d.0", i)] = c1
	}
	require.NoError(t, repo.Tags(targets))
	res := e.mustResolve("exact", latest, resolver.Known{})
	assert.Equal(t, "v1.199.0", res.Version)
	require.Len(t, e.srv.Requests(), 3, "pages 1 and 2, and the empty page 3")
	assert.Len(t, strings.Fields(res.Validator), 4)

	known := resolver.Known{SHA: res.SHA, Version: res.Version, Validator: res.Validator}
	assert.True(t, e.mustResolve("exact", latest, known).Unchanged)

	// "v0.0.1" sorts after every v1 tag: it alone goes to page 3.
	c2 := commit(t, repo, "main", "two")
	require.NoError(t, repo.Tag("v0.0.1", c2))
	e.srv.ResetRequests()
	again := e.mustResolve("exact", latest, known)
	assert.False(t, again.Unchanged, "the tag on the new page was seen")
	assert.Equal(t, "v1.199.0", again.Version)
	var statuses []int
	for _, req := range e.srv.Requests() {
		statuses = append(statuses, req.Status)
	}
	assert.Equal(t, []int{304, 304, 200, 200, 200}, statuses, "pages 1 and 2 unchanged, page 3 new")
	got := e.mustResolve("exact", semverRef("<1"), resolver.Known{})
	assert.Equal(t, "v0.0.1", got.Version)
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	require.NoError(t, repo.Tag("nightly", c1))
	require.NoError(t, repo.Tag("v1.0.0", c1))
	e.repo("empty", "main")

	for _, tc := range []struct {
		name   string
		repo   string
		ref    tracking.Ref
		status int
	}{
		{"missing repository, branch", "nope", branch("main"), http.StatusNotFound},
		{"missing repository, head", "nope", head, http.StatusNotFound},
		{"missing repository, tags", "nope", latest, http.StatusNotFound},
		{"unknown branch", "widget", branch("gone"), http.StatusUnprocessableEntity},
		{"unknown tag", "widget", tag("v9.9.9"), http.StatusUnprocessableEntity},
		{"branch name is not a tag", "widget", tag("main"), http.StatusUnprocessableEntity},
		{"tag name is not a branch", "widget", branch("nightly"), http.StatusUnprocessableEntity},
		{"empty repository", "empty", branch("main"), http.StatusConflict},
		{"empty repository, head", "empty", head, http.StatusConflict},
		{"no release tag", "empty", latest, http.StatusOK},
		{"no tag satisfies", "widget", semverRef(">=2"), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.ResetRequests()
			_, err := e.resolve(tc.repo, tc.ref, resolver.Known{})
			require.ErrorIs(t, err, resolver.ErrNotFound)
			require.ErrorIs(t, err, tracking.ErrNotFound)
			assert.Contains(t, err.Error(), "github: ")
			log := e.srv.Requests()
			require.NotEmpty(t, log)
			assert.Equal(t, tc.status, log[len(log)-1].Status)
		})
	}
}

func TestOtherFailuresAreReportedWithoutSentinels(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	commit(t, repo, "main", "one")
	e.srv.FailNext(1, fakegithub.ServerError())

	_, err := e.resolve("widget", branch("main"), resolver.Known{})
	require.Error(t, err)
	assert.NotErrorIs(t, err, resolver.ErrNotFound)
	assert.NotErrorIs(t, err, resolver.ErrRateLimited)
	assert.Contains(t, err.Error(), "500")
	assert.Contains(t, err.Error(), "acme/widget branch:main")
	assert.Len(t, e.srv.Requests(), 1, "failures are not retried")
}

func TestRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(now time.Time) fakegithub.Response
		wait time.Duration
	}{
		{"primary limit", func(now time.Time) fakegithub.Response { return fakegithub.PrimaryLimit(now.Add(90 * time.Second)) }, 90 * time.Second},
		{"secondary limit", func(time.Time) fakegithub.Response { return fakegithub.SecondaryLimit(30 * time.Second) }, 30 * time.Second},
		{"too many requests", func(time.Time) fakegithub.Response { return fakegithub.TooManyRequests(45 * time.Second) }, 45 * time.Second},
		{"primary limit already reset", func(now time.Time) fakegithub.Response { return fakegithub.PrimaryLimit(now.Add(-time.Hour)) }, time.Second},
		{"too many requests, no time given", func(time.Time) fakegithub.Response {
			return fakegithub.Response{Status: http.StatusTooManyRequests}
		}, time.Minute},
		{"retry-after as a date", func(now time.Time) fakegithub.Response {
			return fakegithub.Response{Status: http.StatusTooManyRequests, Header: http.Header{
				"Retry-After": {now.Add(2 * time.Minute).Format(http.TimeFormat)},
			}}
		}, 2 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			repo := e.repo("widget", "main")
			c1 := commit(t, repo, "main", "one")
			e.srv.FailNext(1, tc.fail(e.clock.Now()))

			_, err := e.resolve("widget", branch("main"), resolver.Known{})
			require.ErrorIs(t, err, resolver.ErrRateLimited)
			var rl *resolver.RateLimitError
			require.ErrorAs(t, err, &rl)
			assert.Equal(t, e.host(), rl.Host)
			assert.Equal(t, tc.wait, rl.RetryAfter)
			require.Len(t, e.srv.Requests(), 1)

			// Before the wait is over nothing is sent, whatever is asked.
			if tc.wait > time.Second {
				e.clock.Advance(tc.wait - time.Second)
			}
			for _, ref := range []tracking.Ref{branch("main"), head, latest} {
				_, err = e.resolve("widget", ref, resolver.Known{})
				require.ErrorAs(t, err, &rl)
				assert.Equal(t, time.Second, rl.RetryAfter)
			}
			assert.Len(t, e.srv.Requests(), 1, "no request while held back")

			// Once the injected clock passes the wait, requests go out again.
			e.clock.Advance(time.Second)
			res := e.mustResolve("widget", branch("main"), resolver.Known{})
			assert.Equal(t, c1, res.SHA)
			assert.Len(t, e.srv.Requests(), 2)
		})
	}
}

func TestExhaustedRateHoldsBackUntilReset(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	e.srv.SetRate(0, e.clock.Now().Add(10*time.Minute))

	// The answer that used the last request still counts.
	res := e.mustResolve("widget", branch("main"), resolver.Known{})
	assert.Equal(t, c1, res.SHA)

	_, err := e.resolve("widget", branch("main"), resolver.Known{})
	var rl *resolver.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 10*time.Minute, rl.RetryAfter)
	assert.Len(t, e.srv.Requests(), 1)

	e.srv.SetRate(4999, e.clock.Now().Add(time.Hour))
	e.clock.Advance(10 * time.Minute)
	e.mustResolve("widget", branch("main"), resolver.Known{})
	assert.Len(t, e.srv.Requests(), 2)
}

func TestRateLimitEndsAPagination(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("many", "main")
	c1 := commit(t, repo, "main", "one")
	targets := map[string]string{}
	for i := range 150 {
		targets[fmt.Sprintf("v1.%d.0", i)] = c1
	}
	require.NoError(t, repo.Tags(targets))
	// Page 1 uses up the limit; page 2 is never asked for.
	e.srv.SetRate(0, e.clock.Now().Add(time.Minute))

	_, err := e.resolve("many", latest, resolver.Known{})
	var rl *resolver.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Minute, rl.RetryAfter)
	assert.Len(t, e.srv.Requests(), 1)
}

func TestEnterpriseBaseURL(t *testing.T) {
	e := newEnv(t, func(f *fakegithub.Config, _ *github.Config, _ *github.Auth) { f.Prefix = "/api/v3" })
	// Configured without the trailing slash, as often written.
	r, err := github.New(&github.Config{Hosts: mustHosts(t, resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: e.srv.URL() + "/api/v3"}), Now: e.clock.Now})
	require.NoError(t, err)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	require.NoError(t, repo.Tag("v1.0.0", c1))

	for _, ref := range []tracking.Ref{branch("main"), head, latest} {
		res, err := r.Resolve(context.Background(), resolver.Request{Source: must(tracking.GitHubSource("ghe.example.com", "acme", "widget")), Ref: ref})
		require.NoError(t, err)
		assert.Equal(t, c1, res.SHA)
	}
	log := e.srv.Requests()
	require.Len(t, log, 4)
	for _, req := range log {
		assert.True(t, strings.HasPrefix(req.Path, "/api/v3/repos/acme/widget"), req.Path)
		assert.Equal(t, http.StatusOK, req.Status)
	}

	// The API root is not guessed: without the prefix nothing is found.
	r, err = github.New(&github.Config{Hosts: mustHosts(t, resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: e.srv.URL()}), Now: e.clock.Now})
	require.NoError(t, err)
	_, err = r.Resolve(context.Background(), resolver.Request{Source: must(tracking.GitHubSource("ghe.example.com", "acme", "widget")), Ref: branch("main")})
	require.ErrorIs(t, err, resolver.ErrNotFound)
}

func TestTokenIsSentAndNeverShown(t *testing.T) {
	const token = "ghp_SECRETtoken0123456789"
	var logs bytes.Buffer
	e := newEnv(t, func(f *fakegithub.Config, g *github.Config, auth *github.Auth) {
		f.Token = token
		auth.Token = token
		g.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")

	// The fake refuses requests without the token, so this proves it is sent.
	res := e.mustResolve("widget", branch("main"), resolver.Known{})
	assert.Equal(t, c1, res.SHA)

	var errs []error
	e.srv.FailNext(1, fakegithub.ServerError())
	_, err := e.resolve("widget", branch("main"), resolver.Known{})
	errs = append(errs, err)
	_, err = e.resolve("nope", head, resolver.Known{})
	errs = append(errs, err)
	e.srv.FailNext(1, fakegithub.PrimaryLimit(e.clock.Now().Add(time.Minute)))
	_, err = e.resolve("widget", latest, resolver.Known{})
	errs = append(errs, err)
	e.clock.Advance(time.Hour)
	e.srv.Close() // a transport failure
	_, err = e.resolve("widget", branch("main"), resolver.Known{})
	errs = append(errs, err)
	for _, err := range errs {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), token)
		assert.NotContains(t, fmt.Sprintf("%+v", err), token)
	}
	assert.NotEmpty(t, logs.String(), "requests are logged at debug level")
	assert.NotContains(t, logs.String(), token)

	cfg := github.Config{Auth: map[string]github.Auth{"github.com": {Token: token}}}
	assert.NotContains(t, fmt.Sprint(cfg), token)
	assert.NotContains(t, fmt.Sprintf("%+v", &cfg), token)
	assert.Contains(t, fmt.Sprint(cfg), "Token REDACTED")

	_, err = github.New(&github.Config{Auth: map[string]github.Auth{"github.com": {Token: token + " \n"}}})
	require.ErrorIs(t, err, tracking.ErrInvalidArgument)
	assert.NotContains(t, err.Error(), "SECRET")
}

func TestTokenIsNotSentToOtherHosts(t *testing.T) {
	const token = "ghp_redirected"
	var got []string
	var mu sync.Mutex
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/vnd.github.sha")
		_, _ = w.Write([]byte(strings.Repeat("a", 40)))
	}))
	t.Cleanup(other.Close)
	e := newEnv(t, func(_ *fakegithub.Config, _ *github.Config, auth *github.Auth) { auth.Token = token })
	e.srv.FailNext(1, fakegithub.Response{Status: http.StatusFound, Header: http.Header{"Location": {other.URL + "/elsewhere"}}})

	res := e.mustResolve("widget", branch("main"), resolver.Known{})
	assert.Equal(t, strings.Repeat("a", 40), res.SHA)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{""}, got)
}

func TestInvalidRequestsSendNothing(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	commit(t, repo, "main", "one")
	for _, tc := range []struct {
		name   string
		source tracking.Source
		ref    tracking.Ref
		want   error
	}{
		{"untracked", src("widget"), tracking.Ref{}, resolver.ErrUnsupported},
		{"pinned", src("widget"), must(tracking.SHARef(strings.Repeat("a", 40))), resolver.ErrUnsupported},
		{"git source", must(tracking.ParseSource("git+https://example.com/x.git")), branch("main"), resolver.ErrUnsupported},
		{"local source", must(tracking.ParseSource("local://x")), branch("main"), resolver.ErrUnsupported},
		{"zero source", tracking.Source{}, branch("main"), resolver.ErrUnsupported},
		{"another GitHub host", must(tracking.GitHubSource("ghe.example.com", "acme", "widget")), branch("main"), resolver.ErrOtherHost},
		{"github.com from a GHE resolver", must(tracking.GitHubSource("github.com", "acme", "widget")), branch("main"), resolver.ErrOtherHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.r.Resolve(context.Background(), resolver.Request{Source: tc.source, Ref: tc.ref})
			require.ErrorIs(t, err, tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "github: "), err.Error())
			assert.NotContains(t, err.Error(), "\n")
			assert.Empty(t, e.srv.Requests(), "nothing is sent for an invalid request")
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	r, err := github.New(nil)
	require.NoError(t, err)
	require.NotNil(t, r)

	for _, tc := range []struct {
		name string
		cfg  github.Config
	}{
		{"negative timeout", github.Config{Timeout: -time.Second}},
		{"token with space", github.Config{Auth: map[string]github.Auth{"github.com": {Token: "a b"}}}},
		{"auth for a host not listed", github.Config{Auth: map[string]github.Auth{"ghe.example.com": {Token: "hunter2"}}}},
		{"two kinds of auth", github.Config{Auth: map[string]github.Auth{"github.com": {HTTPClient: http.DefaultClient, Client: gogithub.NewClient(nil)}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := github.New(&tc.cfg)
			require.ErrorIs(t, err, tracking.ErrInvalidArgument)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestTimeoutBoundsACall(t *testing.T) {
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(release) })
	cfg := hostConfig(t, "github.com", stuck.URL+"/")
	cfg.Timeout = 50 * time.Millisecond
	r, err := github.New(&cfg)
	require.NoError(t, err)

	_, err = r.Resolve(context.Background(), resolver.Request{Source: src("widget"), Ref: branch("main")})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Resolve(ctx, resolver.Request{Source: src("widget"), Ref: branch("main")})
	require.ErrorIs(t, err, context.Canceled)
}

func TestConcurrentResolves(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	require.NoError(t, repo.Tag("v1.0.0", c1))

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := []tracking.Ref{branch("main"), head, latest, tag("v1.0.0")}[i%4]
			res, err := e.resolve("widget", ref, resolver.Known{})
			if err == nil && res.SHA != c1 {
				err = errors.New("wrong sha " + res.SHA)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestSourceNamingTheConfiguredHost: github://<the API root's host>/o/r is
// the same repository as github://o/r for this resolver.
func TestSourceNamingTheConfiguredHost(t *testing.T) {
	e := newEnv(t)
	repo := e.repo("widget", "main")
	c1 := commit(t, repo, "main", "one")
	named := must(tracking.GitHubSource(e.host(), "acme", "widget"))
	res, err := e.r.Resolve(t.Context(), resolver.Request{Source: named, Ref: branch("main")})
	require.NoError(t, err)
	assert.Equal(t, c1, res.SHA)
}
