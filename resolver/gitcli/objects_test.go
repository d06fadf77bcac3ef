package gitcli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestObjectsFile(t *testing.T) {
	t.Parallel()
	resolvertest.RunObjects(t, fileHarness(false))
}

func TestObjectsSmartHTTP(t *testing.T) {
	t.Parallel()
	resolvertest.RunObjects(t, smartHTTPHarness(false))
}

// TestObjectsHistoryClone reads the objects through the history clone of
// Config.HistoryCacheDir instead of a temporary repository.
func TestObjectsHistoryClone(t *testing.T) {
	t.Parallel()
	resolvertest.RunObjects(t, smartHTTPHarness(true))
}

// TestObjectsPrivate reads the signed objects of private repositories
// (smart HTTP with basic auth, with a bearer token, and ssh with a key):
// the fetch carries Config.Credentials as Resolve and Fetch do, no secret
// reaches git's argv, no key file outlives the call, and without the
// credentials the read fails as unauthorized.
func TestObjectsPrivate(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the ssh key files and temporary repositories go
	repos := resolvertest.NewRepos(t)
	key := resolvertest.NewSigningKey(t)
	signed := repos.SignedCommit(t, resolvertest.RepoPlugin, resolvertest.SignedBranch, "refs/heads/main", key)
	repos.SignedTag(t, resolvertest.RepoPlugin, resolvertest.SignedTagName, resolvertest.SignedBranch, key)
	wantCommit := repos.RawObject(t, resolvertest.RepoPlugin, "commit", signed)
	wantTag := repos.RawObject(t, resolvertest.RepoPlugin, "tag", repos.TagObject(resolvertest.RepoPlugin, resolvertest.SignedTagName))
	argvLog, wrapper := argvWrapper(t)

	ref := mustRef(t, "tag:"+resolvertest.SignedTagName)
	res := resolver.Result{SHA: signed, Version: resolvertest.SignedTagName, Revision: resolver.Revision(resolvertest.SignedTagName, signed)}
	for _, c := range append(privateCases(t, repos), sshCase(t, repos)) {
		t.Run(c.name, func(t *testing.T) {
			src := c.source(resolvertest.RepoPlugin)
			creds := &staticCredentials{c: c.right}
			r := mustNew(t, &gitcli.Config{GitPath: wrapper, Credentials: creds})
			objs, err := r.ReadObjects(t.Context(), src, ref, res)
			require.NoError(t, err)
			assert.Equal(t, string(wantCommit), string(objs.Commit))
			assert.Equal(t, string(wantTag), string(objs.Tag))
			require.Len(t, creds.seen, 1, "one git call reaches the remote")
			assert.Equal(t, src, creds.seen[0].Source)

			_, err = mustNew(t, nil).ReadObjects(t.Context(), src, ref, res)
			require.ErrorIs(t, err, resolver.ErrUnauthorized)
			assert.Contains(t, err.Error(), "none are configured; set gitcli.Config.Credentials")
			for _, wrong := range c.wrong {
				_, err := mustNew(t, &gitcli.Config{GitPath: wrapper, Credentials: &staticCredentials{c: wrong}}).ReadObjects(t.Context(), src, ref, res)
				require.ErrorIs(t, err, resolver.ErrUnauthorized, "%v", wrong)
				assert.NotContains(t, err.Error(), basicPassword)
				assert.NotContains(t, err.Error(), bearerToken)
			}

			argv, err := os.ReadFile(argvLog)
			require.NoError(t, err)
			require.Contains(t, string(argv), "fetch", "the wrapper saw the fetch")
			for _, secret := range append([]string{basicPassword, bearerToken, "pw-wrong-0000", "tok-wrong-0000"}, c.keyLines...) {
				assert.NotContains(t, string(argv), secret)
			}
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "a key file or temporary repository outlived the call")
		})
	}
}

// argvWrapper returns a git that logs each argv to the returned file
// before running the real git.
func argvWrapper(t *testing.T) (argvLog, wrapper string) {
	t.Helper()
	realGit, err := exec.LookPath("git")
	require.NoError(t, err)
	dir := t.TempDir()
	argvLog = filepath.Join(dir, "argv.log")
	wrapper = filepath.Join(dir, "git")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '"+argvLog+"'\nexec '"+realGit+"' \"$@\"\n"), 0o755))
	return argvLog, wrapper
}

// TestObjectsLeaveNoTemporaryRepository: whether the read succeeds,
// finds nothing or is cancelled, the temporary repository is gone when
// ReadObjects returns.
func TestObjectsLeaveNoTemporaryRepository(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	repos := resolvertest.NewRepos(t)
	src := mustSource(t, "git+file://"+repos.Path(resolvertest.RepoPlugin))
	r := mustNew(t, &gitcli.Config{AllowFile: true})
	main := mustRef(t, "branch:main")
	tip := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	for _, c := range []struct {
		name  string
		ctx   context.Context
		sha   string
		match error
	}{
		{"read", t.Context(), tip, nil},
		{"unknown commit", t.Context(), someSHA, resolver.ErrNotFound},
		{"cancelled", cancelled, tip, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			objs, err := r.ReadObjects(c.ctx, src, main, resolver.Result{SHA: c.sha, Revision: resolver.Revision("main", c.sha)})
			if c.match == nil {
				require.NoError(t, err)
				assert.Equal(t, string(repos.RawObject(t, resolvertest.RepoPlugin, "commit", tip)), string(objs.Commit))
			} else {
				require.ErrorIs(t, err, c.match)
			}
			left, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, left, "left behind in TMPDIR")
		})
	}
}

// TestObjectsRefusedBeforeGit: what ReadObjects cannot read is refused
// without running git.
func TestObjectsRefusedBeforeGit(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath})
	good := mustSource(t, "git+https://example.com/acme/plugin.git")
	res := resolver.Result{SHA: someSHA, Version: "v1.0.0", Revision: resolver.Revision("v1.0.0", someSHA)}
	for _, c := range []struct {
		name  string
		src   tracking.Source
		ref   tracking.Ref
		res   resolver.Result
		match error
	}{
		{"local source", mustSource(t, "local://plugin"), mustRef(t, "tag:v1.0.0"), res, resolver.ErrUnsupported},
		{"file not allowed", mustSource(t, "git+file:///srv/repo.git"), mustRef(t, "tag:v1.0.0"), res, resolver.ErrUnsupported},
		{"untracked ref", good, mustRef(t, "sha:"+someSHA), res, resolver.ErrUnsupported},
		{"not a commit id", good, mustRef(t, "branch:main"), resolver.Result{SHA: "--upload-pack=touch /tmp/pwn"}, tracking.ErrInvalidSHA},
		{"tag ref without a version", good, mustRef(t, "tag:latest"), resolver.Result{SHA: someSHA}, tracking.ErrInvalidArgument},
		{"tag ref with a hostile version", good, mustRef(t, "semver:^1"), resolver.Result{SHA: someSHA, Version: "--upload-pack=x"}, tracking.ErrInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.ReadObjects(t.Context(), c.src, c.ref, c.res)
			require.ErrorIs(t, err, c.match)
		})
	}
	assert.Empty(t, readLog(t, log), "git ran")
}

// TestObjectsGitArguments: the fetch asks for commits only, one deep,
// the tag by its full name, with "--" before the remote.
func TestObjectsGitArguments(t *testing.T) {
	gitPath, log := fakeGit(t, "exit 0")
	r := mustNew(t, &gitcli.Config{GitPath: gitPath})
	src := mustSource(t, "git+https://example.com/acme/plugin.git")
	_, err := r.ReadObjects(t.Context(), src, mustRef(t, "tag:v1.2.0"), resolver.Result{SHA: someSHA, Version: "v1.2.0"})
	require.Error(t, err, "the fake git fetches nothing")
	assert.Contains(t, readLog(t, log), "fetch\n--quiet\n--no-tags\n--no-write-fetch-head\n--filter=tree:0\n--depth=1\n--\nhttps://example.com/acme/plugin.git\n+refs/tags/v1.2.0:refs/plugindrift/objects/tag\n--end--")
}

// TestObjectsFromAServerThatSendsOnlyTips reads a branch's commit from a
// server speaking protocol version 0, which refuses a commit asked for by
// id unless it is a ref's tip: ReadObjects asks for the branch instead,
// and when its tip is no longer the commit resolved, says the branch
// moved (where protocol version 2 still hands the old commit over).
func TestObjectsFromAServerThatSendsOnlyTips(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	src := mustSource(t, "git+file://"+repos.Path(resolvertest.RepoTrunk)) // no tag keeps an old tip advertised
	realGit, err := exec.LookPath("git")
	require.NoError(t, err)
	v0 := filepath.Join(t.TempDir(), "git")
	require.NoError(t, os.WriteFile(v0, []byte("#!/bin/sh\nexec '"+realGit+"' -c protocol.version=0 \"$@\"\n"), 0o755))
	old := mustNew(t, &gitcli.Config{AllowFile: true, GitPath: v0})
	current := mustNew(t, &gitcli.Config{AllowFile: true})

	for _, ref := range []tracking.Ref{mustRef(t, "branch:trunk"), mustRef(t, "head")} {
		res, err := old.Resolve(t.Context(), resolver.Request{Source: src, Ref: ref})
		require.NoError(t, err)
		objs, err := old.ReadObjects(t.Context(), src, ref, res)
		require.NoError(t, err, "%s: the tip is sent by id", ref)
		assert.Equal(t, string(repos.RawObject(t, resolvertest.RepoTrunk, "commit", res.SHA)), string(objs.Commit))

		repos.Commit(t, resolvertest.RepoTrunk, "trunk")
		_, err = old.ReadObjects(t.Context(), src, ref, res)
		require.Error(t, err, ref)
		assert.NotErrorIs(t, err, resolver.ErrNotFound)
		assert.Contains(t, err.Error(), "moved while it was checked", ref)
		assert.Contains(t, err.Error(), "the server sends only the tips of its refs", ref)

		objs, err = current.ReadObjects(t.Context(), src, ref, res)
		require.NoError(t, err, "%s: protocol version 2 sends a reachable commit by id", ref)
		assert.Equal(t, string(repos.RawObject(t, resolvertest.RepoTrunk, "commit", res.SHA)), string(objs.Commit))
	}
}

// TestObjectsHistoryCloneFetchesOnlyWhatIsMissing: with a history clone,
// a commit the force-push check already fetched is read without asking
// the remote, a tag costs one fetch, and the clone keeps its whole
// history (it is never made shallow).
func TestObjectsHistoryCloneFetchesOnlyWhatIsMissing(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	src := mustSource(t, "git+file://"+repos.Path(resolvertest.RepoPlugin))
	argvLog, wrapper := argvWrapper(t)
	cache := t.TempDir()
	r := mustNew(t, &gitcli.Config{AllowFile: true, GitPath: wrapper, HistoryCacheDir: cache})
	fetches := func() int {
		argv, err := os.ReadFile(argvLog)
		require.NoError(t, err)
		return strings.Count(string(argv), " fetch ")
	}
	tip := repos.SHA(resolvertest.RepoPlugin, "refs/heads/main")
	first := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v0.9.0")
	dev := repos.SHA(resolvertest.RepoPlugin, "refs/heads/dev")

	_, err := r.NotAncestors(t.Context(), src, tip, nil)
	require.NoError(t, err)
	before := fetches()
	require.Positive(t, before)
	objs, err := r.ReadObjects(t.Context(), src, mustRef(t, "branch:main"), resolver.Result{SHA: tip, Revision: resolver.Revision("main", tip)})
	require.NoError(t, err)
	assert.Equal(t, string(repos.RawObject(t, resolvertest.RepoPlugin, "commit", tip)), string(objs.Commit))
	assert.Equal(t, before, fetches(), "the commit was in the clone already")

	sha := repos.SHA(resolvertest.RepoPlugin, "refs/tags/v1.2.0")
	objs, err = r.ReadObjects(t.Context(), src, mustRef(t, "tag:v1.2.0"), resolver.Result{SHA: sha, Version: "v1.2.0", Revision: resolver.Revision("v1.2.0", sha)})
	require.NoError(t, err)
	assert.Equal(t, string(repos.RawObject(t, resolvertest.RepoPlugin, "tag", repos.TagObject(resolvertest.RepoPlugin, "v1.2.0"))), string(objs.Tag))
	assert.Equal(t, before+1, fetches())

	shallow, err := filepath.Glob(filepath.Join(cache, "*", ".git", "shallow"))
	require.NoError(t, err)
	assert.Empty(t, shallow, "the history clone was made shallow")
	got, err := r.NotAncestors(t.Context(), src, tip, []string{first, dev})
	require.NoError(t, err)
	assert.Equal(t, []string{dev}, got, "the force-push check still sees the whole history")
}
