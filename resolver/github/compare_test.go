package github_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestAncestry holds the compare-based force-push check to the shared
// cases, the fake's compare endpoint answering from the fixtures.
func TestAncestry(t *testing.T) {
	resolvertest.RunAncestry(t, fakeHarness(func(c *fakegithub.Config) { c.Prefix = "" }))
}

// TestAncestryOnAnEnterpriseHost runs the same cases against a second
// host of Config.Hosts whose API wants a token: the compare requests go to
// that host's API with that host's Auth, and github.com's is never used.
func TestAncestryOnAnEnterpriseHost(t *testing.T) {
	const token = "ghp_enterprise"
	var servers []*fakegithub.Server
	resolvertest.RunAncestry(t, enterpriseHarness(token, &servers))
	compares := requestsWithToken(t, servers, "/compare/", token)
	assert.Positive(t, compares, "the compare API was asked")
}

func TestAncestryRefusesBeforeSending(t *testing.T) {
	srv := fakegithub.Start(fakegithub.Config{Path: func(_, repo string) string { return "/nonexistent" }})
	t.Cleanup(srv.Close)
	cfg := hostConfig(t, "github.com", srv.BaseURL())
	r, err := github.New(&cfg)
	require.NoError(t, err)
	src := must(tracking.GitHubSource("", "o", "r"))
	_, err = r.NotAncestors(t.Context(), src, "HEAD", nil)
	assert.ErrorIs(t, err, tracking.ErrInvalidSHA)
	_, err = r.NotAncestors(t.Context(), src, strings.Repeat("a", 40), []string{"main"})
	assert.ErrorIs(t, err, tracking.ErrInvalidSHA)
	other := must(tracking.GitHubSource("ghe.example.com", "o", "r"))
	_, err = r.NotAncestors(t.Context(), other, strings.Repeat("a", 40), nil)
	assert.ErrorIs(t, err, resolver.ErrOtherHost)
	assert.Empty(t, srv.Requests(), "nothing was sent")
}
