package resolver_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

func TestGitHubHosts(t *testing.T) {
	t.Parallel()
	var zero resolver.GitHubHosts
	assert.Equal(t, resolver.DefaultGitHubHost, zero.Default())
	assert.Equal(t, []resolver.GitHubHost{resolver.DefaultGitHubHost}, zero.All())

	hosts, err := resolver.NewGitHubHosts(
		resolver.GitHubHost{Name: "github.com"},
		resolver.GitHubHost{Name: "GHE.example.com"},
		resolver.GitHubHost{Name: "ghe2.example.com:8443", APIBaseURL: "http://10.0.0.2/api", GitBaseURL: "http://10.0.0.2/git/"},
	)
	require.NoError(t, err)
	want := []resolver.GitHubHost{
		resolver.DefaultGitHubHost,
		{Name: "ghe.example.com", APIBaseURL: "https://ghe.example.com/api/v3/", GitBaseURL: "https://ghe.example.com"},
		{Name: "ghe2.example.com:8443", APIBaseURL: "http://10.0.0.2/api/", GitBaseURL: "http://10.0.0.2/git"},
	}
	assert.Equal(t, want, hosts.All())

	for source, wantHost := range map[string]resolver.GitHubHost{
		"github://o/r":                       want[0],
		"github://github.com/o/r":            want[0],
		"github://ghe.example.com/o/r":       want[1],
		"github://ghe2.example.com:8443/o/r": want[2],
	} {
		src, err := tracking.ParseSource(source)
		require.NoError(t, err)
		got, ok := hosts.Lookup(src)
		assert.True(t, ok, source)
		assert.Equal(t, wantHost, got, source)
	}
	src, err := tracking.ParseSource("github://other.example.com/o/r")
	require.NoError(t, err)
	got, ok := hosts.Lookup(src)
	assert.False(t, ok)
	assert.Equal(t, resolver.GitHubHost{Name: "other.example.com", APIBaseURL: "https://other.example.com/api/v3/", GitBaseURL: "https://other.example.com"}, got)

	// The first host is the default, whatever its name.
	ghe, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "ghe.example.com"})
	require.NoError(t, err)
	src, err = tracking.ParseSource("github://o/r")
	require.NoError(t, err)
	got, ok = ghe.Lookup(src)
	assert.True(t, ok)
	assert.Equal(t, "ghe.example.com", got.Name)
}

func TestNewGitHubHostsRefusesNonsense(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		hosts []resolver.GitHubHost
		want  string
	}{
		"no name":            {[]resolver.GitHubHost{{APIBaseURL: "https://x/"}}, "Name \"\": want a host name"},
		"name with a path":   {[]resolver.GitHubHost{{Name: "ghe.example.com/api"}}, "want a host name"},
		"twice":              {[]resolver.GitHubHost{{Name: "github.com"}, {Name: "GitHub.com"}}, `"github.com" is listed twice`},
		"api not a url":      {[]resolver.GitHubHost{{Name: "a.example", APIBaseURL: "ext::sh -c x"}}, `APIBaseURL "ext::sh -c x": want an http or https URL`},
		"git of ssh":         {[]resolver.GitHubHost{{Name: "a.example", GitBaseURL: "ssh://a.example"}}, "GitBaseURL"},
		"api with query":     {[]resolver.GitHubHost{{Name: "a.example", APIBaseURL: "https://a.example/?x=1"}}, "APIBaseURL"},
		"git with fragment":  {[]resolver.GitHubHost{{Name: "a.example", GitBaseURL: "https://a.example/#x"}}, "GitBaseURL"},
		"api without host":   {[]resolver.GitHubHost{{Name: "a.example", APIBaseURL: "https:///api/v3/"}}, "APIBaseURL"},
		"git with password":  {[]resolver.GitHubHost{{Name: "a.example", GitBaseURL: "https://u:hunter2@a.example"}}, "GitBaseURL (with credentials)"},
		"api with user only": {[]resolver.GitHubHost{{Name: "a.example", APIBaseURL: "https://ghp_hunter2@a.example/"}}, "APIBaseURL (with credentials)"},
	} {
		_, err := resolver.NewGitHubHosts(c.hosts...)
		require.ErrorIs(t, err, tracking.ErrInvalidArgument, name)
		assert.Contains(t, err.Error(), c.want, name)
		assert.NotContains(t, err.Error(), "hunter2", name)
	}
}
