package github_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestObjectsConformance holds ReadObjects to the shared suite, the fake's
// git database endpoints answering from the suite's own fixtures.
func TestObjectsConformance(t *testing.T) {
	resolvertest.RunObjects(t, fakeHarness(nil))
}

// TestObjectsConformanceUnsignedPayloads runs the suite against a host
// that gives the payload of unsigned objects too.
func TestObjectsConformanceUnsignedPayloads(t *testing.T) {
	resolvertest.RunObjects(t, fakeHarness(func(c *fakegithub.Config) { c.UnsignedPayloads = true }))
}

// objectsEnv is the fake GitHub serving fixture repositories with a
// signed commit and tag, and a resolver pointed at it.
type objectsEnv struct {
	repos  *resolvertest.Repos
	srv    *fakegithub.Server
	clock  *clock
	r      *github.Resolver
	src    tracking.Source
	signed string // the signed commit
}

func newObjectsEnv(t *testing.T, unsignedPayloads bool) *objectsEnv {
	t.Helper()
	e := &objectsEnv{repos: resolvertest.NewRepos(t), clock: newClock()}
	key := resolvertest.NewSigningKey(t)
	e.signed = e.repos.SignedCommit(t, resolvertest.RepoPlugin, resolvertest.SignedBranch, "refs/heads/main", key)
	e.repos.SignedTag(t, resolvertest.RepoPlugin, resolvertest.SignedTagName, resolvertest.SignedBranch, key)
	e.srv = fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return e.repos.Path(repo) }, UnsignedPayloads: unsignedPayloads})
	t.Cleanup(e.srv.Close)
	cfg := hostConfig(t, "github.com", e.srv.BaseURL())
	cfg.Now = e.clock.Now
	r, err := github.New(&cfg)
	require.NoError(t, err)
	e.r = r
	e.src = must(tracking.GitHubSource("", "fixtures", resolvertest.RepoPlugin))
	return e
}

// result is the resolution of ref, as the fixtures recorded it.
func (e *objectsEnv) result(ref tracking.Ref, tip string) resolver.Result {
	sha := e.repos.SHA(resolvertest.RepoPlugin, tip)
	version, _ := strings.CutPrefix(tip, "refs/tags/")
	if version == tip {
		version = ""
	}
	name := version
	if name == "" {
		name = ref.Name()
	}
	return resolver.Result{SHA: sha, Version: version, Revision: resolver.Revision(name, sha)}
}

func (e *objectsEnv) read(t *testing.T, ref tracking.Ref, tip string) (resolver.Objects, error) {
	t.Helper()
	return e.r.ReadObjects(t.Context(), e.src, ref, e.result(ref, tip))
}

func (e *objectsEnv) raw(t *testing.T, kind, id string) string {
	return string(e.repos.RawObject(t, resolvertest.RepoPlugin, kind, id))
}

// TestObjectsHostVerdicts: Objects.Host carries GitHub's own verdicts on
// the commit and the tag, as GitHub gives them; the objects are handed
// over whatever GitHub thinks of their signatures.
func TestObjectsHostVerdicts(t *testing.T) {
	e := newObjectsEnv(t, false)
	signedTag := tag(resolvertest.SignedTagName)
	objs, err := e.read(t, signedTag, "refs/tags/"+resolvertest.SignedTagName)
	require.NoError(t, err)
	assert.Equal(t, &resolver.HostVerdict{
		Name:   "github",
		Commit: &resolver.HostCheck{Verified: true, Reason: "valid"},
		Tag:    &resolver.HostCheck{Verified: true, Reason: "valid"},
	}, objs.Host)

	e.srv.Judge(e.signed, fakegithub.Verdict{Reason: "unknown_key"})
	e.srv.Judge(e.repos.TagObject(resolvertest.RepoPlugin, resolvertest.SignedTagName), fakegithub.Verdict{Reason: "bad_email"})
	objs, err = e.read(t, signedTag, "refs/tags/"+resolvertest.SignedTagName)
	require.NoError(t, err)
	assert.Equal(t, &resolver.HostCheck{Reason: "unknown_key"}, objs.Host.Commit)
	assert.Equal(t, &resolver.HostCheck{Reason: "bad_email"}, objs.Host.Tag)
	assert.Equal(t, e.raw(t, "commit", e.signed), string(objs.Commit), "handed over though GitHub did not verify it")
	assert.Equal(t, e.raw(t, "tag", e.repos.TagObject(resolvertest.RepoPlugin, resolvertest.SignedTagName)), string(objs.Tag))

	objs, err = e.read(t, branch(resolvertest.SignedBranch), "refs/heads/"+resolvertest.SignedBranch)
	require.NoError(t, err)
	assert.Nil(t, objs.Host.Tag, "no tag, no verdict on one")
	assert.Nil(t, objs.Tag)
}

// TestObjectsUnsigned: github.com gives no payload for an unsigned commit
// or tag, so the object is nil and the verdict says unsigned; a host that
// does give one has it rebuilt and checked like a signed one.
func TestObjectsUnsigned(t *testing.T) {
	annotated := tag("v1.2.0")
	for _, payloads := range []bool{false, true} {
		e := newObjectsEnv(t, payloads)
		objs, err := e.read(t, annotated, "refs/tags/v1.2.0")
		require.NoError(t, err)
		assert.Equal(t, &resolver.HostCheck{Reason: "unsigned"}, objs.Host.Commit)
		assert.Equal(t, &resolver.HostCheck{Reason: "unsigned"}, objs.Host.Tag)
		if !payloads {
			assert.Nil(t, objs.Commit)
			assert.Nil(t, objs.Tag)
			continue
		}
		assert.Equal(t, e.raw(t, "commit", e.repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")), string(objs.Commit))
		assert.Equal(t, e.raw(t, "tag", e.repos.TagObject(resolvertest.RepoPlugin, "v1.2.0")), string(objs.Tag))
	}
}

// TestObjectsTamperedPayload: a payload that does not hash to the object
// named is refused, never handed over.
func TestObjectsTamperedPayload(t *testing.T) {
	signedTag := tag(resolvertest.SignedTagName)
	tip := "refs/tags/" + resolvertest.SignedTagName
	for _, which := range []string{"commit", "tag"} {
		t.Run(which, func(t *testing.T) {
			e := newObjectsEnv(t, false)
			objs, err := e.read(t, signedTag, tip)
			require.NoError(t, err, "untampered")
			require.NotNil(t, objs.Commit)
			id := e.signed
			if which == "tag" {
				id = e.repos.TagObject(resolvertest.RepoPlugin, resolvertest.SignedTagName)
			}
			e.srv.Tamper(id)
			objs, err = e.read(t, signedTag, tip)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "not to the "+which+" "+id[:12]+"; refusing objects that are not the ones named")
			assert.Equal(t, resolver.Objects{}, objs)
		})
	}
}

// TestObjectsRequestCounts: a branch or head costs one request, a
// lightweight tag two, an annotated tag three.
func TestObjectsRequestCounts(t *testing.T) {
	e := newObjectsEnv(t, false)
	signed := e.signed
	tagObject := e.repos.TagObject(resolvertest.RepoPlugin, resolvertest.SignedTagName)
	main := e.repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	lightweight := e.repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.9.0")
	base := "/repos/fixtures/plugin/git/"
	for _, c := range []struct {
		ref   tracking.Ref
		tip   string
		paths []string
	}{
		{branch(resolvertest.SignedBranch), "refs/heads/" + resolvertest.SignedBranch, []string{"commits/" + signed}},
		{head, "refs/heads/main", []string{"commits/" + main}},
		{tag("v1.9.0"), "refs/tags/v1.9.0", []string{"ref/tags/v1.9.0", "commits/" + lightweight}},
		{semverRef("^3"), "refs/tags/" + resolvertest.SignedTagName, []string{"ref/tags/" + resolvertest.SignedTagName, "tags/" + tagObject, "commits/" + signed}},
	} {
		e.srv.ResetRequests()
		_, err := e.read(t, c.ref, c.tip)
		require.NoError(t, err, c.ref)
		var paths []string
		for _, req := range e.srv.Requests() {
			paths = append(paths, strings.TrimPrefix(req.Path, base))
		}
		assert.Equal(t, c.paths, paths, c.ref)
	}
}

// TestObjectsRateLimited: a refusal is a *resolver.RateLimitError and
// holds the host back as it does for Resolve; a limit used up in the
// middle of a read ends it there.
func TestObjectsRateLimited(t *testing.T) {
	e := newObjectsEnv(t, false)
	signedTag := tag(resolvertest.SignedTagName)
	tip := "refs/tags/" + resolvertest.SignedTagName
	e.srv.FailNext(1, fakegithub.PrimaryLimit(e.clock.Now().Add(90*time.Second)))
	_, err := e.read(t, signedTag, tip)
	require.ErrorIs(t, err, resolver.ErrRateLimited)
	var rl *resolver.RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 90*time.Second, rl.RetryAfter)
	_, err = e.read(t, branch("main"), "refs/heads/main")
	require.ErrorAs(t, err, &rl, "held back")
	assert.Len(t, e.srv.Requests(), 1, "no request while held back")

	e.clock.Advance(90 * time.Second)
	e.srv.ResetRequests()
	e.srv.SetRate(0, e.clock.Now().Add(time.Minute))
	_, err = e.read(t, signedTag, tip)
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, time.Minute, rl.RetryAfter)
	assert.Len(t, e.srv.Requests(), 1, "the read stopped after the request that used the limit up")
}

// TestObjectsNotFound: a missing repository, commit or tag matches
// resolver.ErrNotFound.
func TestObjectsNotFound(t *testing.T) {
	e := newObjectsEnv(t, false)
	sha := strings.Repeat("e", 40)
	_, err := e.r.ReadObjects(t.Context(), e.src, branch("main"), resolver.Result{SHA: sha, Revision: resolver.Revision("main", sha)})
	require.ErrorIs(t, err, resolver.ErrNotFound, "unknown commit")
	missing := must(tracking.GitHubSource("", "fixtures", resolvertest.RepoMissing))
	_, err = e.r.ReadObjects(t.Context(), missing, branch("main"), e.result(branch("main"), "refs/heads/main"))
	require.ErrorIs(t, err, resolver.ErrNotFound, "missing repository")
	main := e.repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	_, err = e.r.ReadObjects(t.Context(), e.src, tag("v9.9.9"), resolver.Result{SHA: main, Version: "v9.9.9"})
	require.ErrorIs(t, err, resolver.ErrNotFound, "missing tag")
}

// TestObjectsRefusedBeforeSending: what ReadObjects cannot read is
// refused without a request.
func TestObjectsRefusedBeforeSending(t *testing.T) {
	e := newObjectsEnv(t, false)
	sha := e.signed
	good := resolver.Result{SHA: sha, Version: "v1.0.0"}
	for _, c := range []struct {
		name  string
		src   tracking.Source
		ref   tracking.Ref
		res   resolver.Result
		match error
	}{
		{"git source", must(tracking.ParseSource("git+https://example.com/a/b.git")), tag("v1.0.0"), good, resolver.ErrUnsupported},
		{"other host", must(tracking.GitHubSource("ghe.example.com", "o", "r")), tag("v1.0.0"), good, resolver.ErrOtherHost},
		{"untracked ref", e.src, must(tracking.SHARef(sha)), good, resolver.ErrUnsupported},
		{"not a commit id", e.src, branch("main"), resolver.Result{SHA: "main"}, tracking.ErrInvalidSHA},
		{"tag ref without a version", e.src, latest, resolver.Result{SHA: sha}, tracking.ErrInvalidArgument},
	} {
		_, err := e.r.ReadObjects(t.Context(), c.src, c.ref, c.res)
		require.ErrorIs(t, err, c.match, c.name)
	}
	assert.Empty(t, e.srv.Requests(), "nothing was sent")
}

// TestObjectsPGPShapedSignatures: an OpenPGP signature has a blank line
// after its armor header, which git stores in a commit as a line holding
// one space; the commit and tag rebuilt from GitHub's payload and
// signature are still git's bytes.
func TestObjectsPGPShapedSignatures(t *testing.T) {
	e := newObjectsEnv(t, false)
	dir := e.repos.Path(resolvertest.RepoPlugin)
	main := e.repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	tree := strings.TrimSpace(gitOut(t, dir, "", "rev-parse", main+"^{tree}"))
	commit := "tree " + tree + "\nparent " + main + "\n" +
		"author Fixture <fixture@plugindrift.invalid> 1704067200 +0000\n" +
		"committer Fixture <fixture@plugindrift.invalid> 1704067200 +0000\n" +
		"gpgsig -----BEGIN PGP SIGNATURE-----\n \n iHUEABYKAB0WIQQfixture\n =AbCd\n -----END PGP SIGNATURE-----\n" +
		"\nsigned with OpenPGP\n"
	sha := strings.TrimSpace(gitOut(t, dir, commit, "hash-object", "-t", "commit", "-w", "--stdin"))
	gitOut(t, dir, "", "update-ref", "refs/heads/pgp", sha)
	tagObject := "object " + sha + "\ntype commit\ntag v8.0.0\n" +
		"tagger Fixture <fixture@plugindrift.invalid> 1704067200 +0000\n\nrelease v8.0.0\n" +
		"-----BEGIN PGP SIGNATURE-----\n\niHUEABYKAB0WIQQfixture\n=AbCd\n-----END PGP SIGNATURE-----\n"
	tagID := strings.TrimSpace(gitOut(t, dir, tagObject, "hash-object", "-t", "tag", "-w", "--stdin"))
	gitOut(t, dir, "", "update-ref", "refs/tags/v8.0.0", tagID)

	objs, err := e.r.ReadObjects(t.Context(), e.src, tag("v8.0.0"), resolver.Result{SHA: sha, Version: "v8.0.0", Revision: resolver.Revision("v8.0.0", sha)})
	require.NoError(t, err)
	assert.Equal(t, commit, string(objs.Commit))
	assert.Equal(t, tagObject, string(objs.Tag))
}

// gitOut runs git in the bare repository dir with stdin and returns its
// output.
func gitOut(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	require.NoError(t, err, "git %s", strings.Join(args, " "))
	return string(out)
}

// TestObjectsOnAnEnterpriseHost runs the suite against a second host of
// Config.Hosts whose API wants a token: every object request goes to that
// host's API with that host's Auth, and github.com's is never used.
func TestObjectsOnAnEnterpriseHost(t *testing.T) {
	const token = "ghp_enterprise"
	var servers []*fakegithub.Server
	resolvertest.RunObjects(t, enterpriseHarness(token, &servers))
	reads := requestsWithToken(t, servers, "/git/", token)
	assert.Positive(t, reads, "the git database API was asked")
}
