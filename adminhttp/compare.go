package adminhttp

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// DefaultGitHubURL is the web address of GitHub sources written without a
// host (github://owner/repo) when Config.GitHubURL is empty.
const DefaultGitHubURL = "https://github.com"

// GitHost says how to link to the web pages of a git host that is not
// GitHub, for the compare and commit links of its sources' entries. In
// both templates {base} is the repository's web address: the source's
// URL over https (http for an http source) without ".git", for ssh
// sources too. Compare also takes {from} and {to}, Commit takes {sha};
// each is a full commit id.
//
//	GitLab: {Compare: "{base}/-/compare/{from}...{to}", Commit: "{base}/-/commit/{sha}"}
//	Gitea:  {Compare: "{base}/compare/{from}...{to}", Commit: "{base}/commit/{sha}"}
type GitHost struct {
	Compare string
	Commit  string
}

// links makes the web links of a source's commits.
type links struct {
	githubURL string
	hosts     map[string]GitHost
}

// newLinks validates the link configuration.
func newLinks(githubURL string, hosts map[string]GitHost) (links, error) {
	if githubURL == "" {
		githubURL = DefaultGitHubURL
	}
	if u, err := url.Parse(githubURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return links{}, fmt.Errorf("adminhttp: Config.GitHubURL %s is not an http(s) address like %q", redact.Quote(githubURL), DefaultGitHubURL)
	}
	for host, gh := range hosts {
		if !strings.HasPrefix(gh.Compare, "{base}") || !strings.Contains(gh.Compare, "{from}") || !strings.Contains(gh.Compare, "{to}") {
			return links{}, fmt.Errorf("adminhttp: Config.GitHosts[%s].Compare must begin with {base} and hold {from} and {to}, like \"{base}/-/compare/{from}...{to}\"", redact.Quote(host))
		}
		if !strings.HasPrefix(gh.Commit, "{base}") || !strings.Contains(gh.Commit, "{sha}") {
			return links{}, fmt.Errorf("adminhttp: Config.GitHosts[%s].Commit must begin with {base} and hold {sha}, like \"{base}/-/commit/{sha}\"", redact.Quote(host))
		}
	}
	return links{githubURL: strings.TrimSuffix(githubURL, "/"), hosts: hosts}, nil
}

// base returns the web address of src's repository and the templates for
// its pages, or ok false when there is none: a local or file source, or a
// git host without GitHost.
func (l links) base(src tracking.Source) (base string, tmpl GitHost, ok bool) {
	switch src.Scheme() {
	case tracking.SchemeGitHub:
		root := l.githubURL
		if src.Host() != "" {
			root = "https://" + src.Host()
		}
		return root + "/" + src.Owner() + "/" + src.Repo(),
			GitHost{Compare: "{base}/compare/{from}...{to}", Commit: "{base}/commit/{sha}"}, true
	case tracking.SchemeGit:
		tmpl, ok = l.hosts[src.Host()]
		if !ok || src.Host() == "" {
			return "", GitHost{}, false
		}
		transport, rest, _ := strings.Cut(src.URL(), "://")
		_, path, _ := strings.Cut(rest, "/") // past user@host:port
		web := "https"
		if transport == "http" {
			web = "http"
		}
		return web + "://" + src.Host() + "/" + strings.TrimSuffix(strings.TrimSuffix(path, "/"), ".git"), tmpl, true
	}
	return "", GitHost{}, false
}

// compareURL links to the diff from → to of src, or "" when there is no
// page to link to (or either commit is unknown).
func (l links) compareURL(src tracking.Source, from, to string) string {
	base, tmpl, ok := l.base(src)
	if !ok || from == "" || to == "" {
		return ""
	}
	return strings.NewReplacer("{base}", base, "{from}", url.PathEscape(from), "{to}", url.PathEscape(to)).Replace(tmpl.Compare)
}

// commitURL links to commit sha of src, or "".
func (l links) commitURL(src tracking.Source, sha string) string {
	base, tmpl, ok := l.base(src)
	if !ok || sha == "" {
		return ""
	}
	return strings.NewReplacer("{base}", base, "{sha}", url.PathEscape(sha)).Replace(tmpl.Commit)
}
