package github_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/resolver/signature"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestSignaturesJudgedThroughTheAPI: the objects GitHub's API hands over
// (rebuilt from payload and signature, hash-checked) are judged by the
// trust policy like git's own: a trusted SSH signer is verified, another
// one is untrusted unless the rule takes GitHub's word (then verified by
// "github"), an unsigned commit is unsigned, a signed tag decides for its
// release; a payload that does not hash to the commit is refused, not
// judged.
func TestSignaturesJudgedThroughTheAPI(t *testing.T) {
	repos := resolvertest.NewRepos(t)
	key := resolvertest.NewSigningKey(t)
	signed := repos.SignedCommit(t, resolvertest.RepoPlugin, resolvertest.SignedBranch, "refs/heads/main", key)
	repos.SignedTag(t, resolvertest.RepoPlugin, resolvertest.SignedTagName, resolvertest.SignedBranch, key)
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return repos.Path(repo) }})
	t.Cleanup(srv.Close)
	cfg := hostConfig(t, "github.com", srv.BaseURL())
	r, err := github.New(&cfg)
	require.NoError(t, err)
	src := must(tracking.GitHubSource("", "fixtures", resolvertest.RepoPlugin))

	judge := func(t *testing.T, rule signature.Rule, ref tracking.Ref, sha, version string) (tracking.Verification, error) {
		t.Helper()
		rule.Repositories = []string{"github.com/fixtures"}
		v, err := signature.New(r, signature.Policy{Rules: []signature.Rule{rule}})
		require.NoError(t, err)
		res, err := r.Resolve(t.Context(), resolver.Request{Source: src, Ref: ref})
		require.NoError(t, err)
		require.Equal(t, sha, res.SHA)
		require.Equal(t, version, res.Version)
		return v.Verify(t.Context(), src, ref, res)
	}
	trusting := signature.Rule{Mode: signature.Require, AllowedSigners: []byte("release-team " + key.PublicKey + "\n")}

	got, err := judge(t, trusting, branch(resolvertest.SignedBranch), signed, "")
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationVerified, got.State, got.Detail)
	assert.Equal(t, "release-team", got.Signer)
	assert.Equal(t, "plugindrift", got.By)
	assert.True(t, got.Required)

	got, err = judge(t, trusting, tag(resolvertest.SignedTagName), signed, resolvertest.SignedTagName)
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationVerified, got.State, got.Detail)
	assert.Contains(t, got.Detail, "tag "+resolvertest.SignedTagName)

	got, err = judge(t, trusting, branch("main"), repos.SHA(resolvertest.RepoPlugin, "refs/heads/main"), "")
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationUnsigned, got.State, "GitHub gives no payload for an unsigned commit")
	assert.True(t, got.Blocks())

	stranger := signature.Rule{Mode: signature.Require, AllowedSigners: []byte("someone-else " + resolvertest.NewSigningKey(t).PublicKey + "\n")}
	got, err = judge(t, stranger, branch(resolvertest.SignedBranch), signed, "")
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationUntrustedSigner, got.State, got.Detail)

	stranger.TrustHost = true
	got, err = judge(t, stranger, branch(resolvertest.SignedBranch), signed, "")
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationVerified, got.State, got.Detail)
	assert.Equal(t, "github", got.By, "GitHub's verification decided")

	srv.Judge(signed, fakegithub.Verdict{Reason: "unknown_key"})
	got, err = judge(t, stranger, branch(resolvertest.SignedBranch), signed, "")
	require.NoError(t, err)
	assert.Equal(t, tracking.VerificationUntrustedSigner, got.State, "GitHub did not verify it either")

	srv.Tamper(signed)
	_, err = judge(t, trusting, branch(resolvertest.SignedBranch), signed, "")
	require.Error(t, err, "a payload that is not the commit named is refused")
}
