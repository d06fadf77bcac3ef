package resolver

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// GitHubHost says where one GitHub host serves its REST API and git. It is
// the one setting both GitHub-aware resolvers read (the github resolver
// for the API, gitcli for git over https), so a host is configured once.
type GitHubHost struct {
	// Name is the host as github:// sources write it: "github.com",
	// "ghe.example.com", "ghe.example.com:8443". Required; compared
	// without regard to case.
	Name string
	// APIBaseURL is the REST API root. Defaults to "https://api.github.com/"
	// for github.com and "https://<Name>/api/v3/" (GitHub Enterprise
	// Server's layout) for any other host.
	APIBaseURL string
	// GitBaseURL is where git reads repositories, as
	// <GitBaseURL>/owner/repo.git. Defaults to "https://<Name>".
	GitBaseURL string
}

// DefaultGitHubHost is github.com.
var DefaultGitHubHost = GitHubHost{
	Name:       "github.com",
	APIBaseURL: "https://api.github.com/",
	GitBaseURL: "https://github.com",
}

// GitHubHosts maps GitHub host names to their API and git base URLs. Make
// it with [NewGitHubHosts]; the zero value holds github.com alone. The
// first host is the default: the one github://owner/repo (a source naming
// no host) is read from. Values are immutable and safe to share.
type GitHubHosts struct {
	hosts []GitHubHost
}

// NewGitHubHosts checks hosts, fills in their defaults and returns the map;
// hosts[0] is the default host. No hosts means github.com alone. A host
// without a name, a name given twice, or a base URL that is not an http or
// https URL without credentials, query or fragment returns an error
// wrapping tracking.ErrInvalidArgument.
func NewGitHubHosts(hosts ...GitHubHost) (GitHubHosts, error) {
	if len(hosts) == 0 {
		return GitHubHosts{}, nil
	}
	out := make([]GitHubHost, 0, len(hosts))
	seen := map[string]bool{}
	for i, h := range hosts {
		h.Name = strings.ToLower(h.Name)
		if h.Name == "" || strings.ContainsAny(h.Name, "/@ \t\r\n") {
			return GitHubHosts{}, fmt.Errorf("resolver: GitHubHost[%d].Name %s: want a host name as github:// sources write it, such as \"github.com\" or \"ghe.example.com\": %w", i, redact.Quote(h.Name), tracking.ErrInvalidArgument)
		}
		if seen[h.Name] {
			return GitHubHosts{}, fmt.Errorf("resolver: GitHub host %q is listed twice; list each host once: %w", h.Name, tracking.ErrInvalidArgument)
		}
		seen[h.Name] = true
		def := hostDefaults(h.Name)
		if h.APIBaseURL == "" {
			h.APIBaseURL = def.APIBaseURL
		}
		if h.GitBaseURL == "" {
			h.GitBaseURL = def.GitBaseURL
		}
		var err error
		if h.APIBaseURL, err = checkBaseURL(h.Name, "APIBaseURL", h.APIBaseURL); err != nil {
			return GitHubHosts{}, err
		}
		if !strings.HasSuffix(h.APIBaseURL, "/") {
			h.APIBaseURL += "/"
		}
		if h.GitBaseURL, err = checkBaseURL(h.Name, "GitBaseURL", h.GitBaseURL); err != nil {
			return GitHubHosts{}, err
		}
		h.GitBaseURL = strings.TrimSuffix(h.GitBaseURL, "/")
		out = append(out, h)
	}
	return GitHubHosts{hosts: out}, nil
}

// hostDefaults is the layout a host has when nothing else is said:
// github.com's own, or GitHub Enterprise Server's for any other name.
func hostDefaults(name string) GitHubHost {
	if name == DefaultGitHubHost.Name {
		return DefaultGitHubHost
	}
	return GitHubHost{Name: name, APIBaseURL: "https://" + name + "/api/v3/", GitBaseURL: "https://" + name}
}

func checkBaseURL(host, field, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// Not quoted when it carries userinfo: that is a credential.
		shown := redact.Quote(raw)
		if err == nil && u.User != nil {
			shown = "(with credentials)"
		}
		return "", fmt.Errorf("resolver: GitHub host %q: %s %s: want an http or https URL without credentials, query or fragment, such as %q; credentials go to the resolver's authentication settings: %w", host, field, shown, DefaultGitHubHost.APIBaseURL, tracking.ErrInvalidArgument)
	}
	return raw, nil
}

// Default returns the default host: the first one given, or github.com.
func (h GitHubHosts) Default() GitHubHost {
	if len(h.hosts) == 0 {
		return DefaultGitHubHost
	}
	return h.hosts[0]
}

// All returns the hosts, the default first.
func (h GitHubHosts) All() []GitHubHost {
	if len(h.hosts) == 0 {
		return []GitHubHost{DefaultGitHubHost}
	}
	return append([]GitHubHost(nil), h.hosts...)
}

// Lookup returns the host a github:// source is on: the default host when
// the source names none, the listed host of that name otherwise. ok is
// false for a host that is not listed; host then holds the defaults for
// that name (API at https://<name>/api/v3/, git at https://<name>), which
// a resolver may use or refuse with ErrOtherHost.
func (h GitHubHosts) Lookup(src tracking.Source) (host GitHubHost, ok bool) {
	name := strings.ToLower(src.Host())
	if name == "" {
		return h.Default(), true
	}
	for _, c := range h.All() {
		if c.Name == name {
			return c, true
		}
	}
	return hostDefaults(name), false
}
