package tracking

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// DefaultGitHubHost is the host a github://owner/repo source (no host
// written) names in its [RepoKey].
const DefaultGitHubHost = "github.com"

// maxRepoKeyLen bounds a repository identity; longer input is refused.
const maxRepoKeyLen = 1024

// RepoKey is the normalised identity of a git repository, whatever URL
// names it: "host/path" with the host lowercased and without user, port
// or scheme, the path lowercased, without a trailing "/" or ".git"; a
// local repository (git+file) is its path alone ("/srv/git/widget").
// github://acme/widget, git+https://github.com/acme/widget.git,
// git+ssh://git@github.com/Acme/widget and the scp-like
// git@github.com:acme/widget.git all have the key "github.com/acme/widget".
//
// The identity deliberately says "maybe the same repository" rather than
// "certainly": two ports of one host, or paths differing only in case,
// share a key. It is what a push webhook is matched by, and matching one
// repository too many costs one check of an upstream that did not move,
// while missing one would leave drift undetected until the next sweep.
//
// Like [Source], it is an immutable comparable value made only by
// [Source.Repository] and [ParseRepoURL]; the zero RepoKey is invalid.
type RepoKey struct{ s string }

// IsValid reports whether k was made by Source.Repository or ParseRepoURL
// (for a source with an upstream).
func (k RepoKey) IsValid() bool { return k.s != "" }

// String is the key: "github.com/acme/widget", "/srv/git/widget"; "" for
// the zero RepoKey. ParseRepoURL(k.String()) returns k.
func (k RepoKey) String() string { return k.s }

// MarshalText implements encoding.TextMarshaler with String.
func (k RepoKey) MarshalText() ([]byte, error) { return []byte(k.s), nil }

// Repository returns the identity of the repository a source with an
// upstream comes from, and the zero RepoKey for local sources. A
// github://owner/repo source (the default GitHub host) has the host
// DefaultGitHubHost.
func (s Source) Repository() RepoKey {
	switch s.scheme {
	case SchemeGitHub:
		host := s.host
		if host == "" {
			host = DefaultGitHubHost
		}
		return repoKey(host, s.owner+"/"+s.repo)
	case SchemeGit:
		_, rest, _ := strings.Cut(s.url, "://")
		if s.host == "" { // file: the path is the identity
			return repoKey("", rest)
		}
		_, path, _ := strings.Cut(rest, "/")
		return repoKey(s.host, path)
	default:
		return RepoKey{}
	}
}

// repoKey builds the key from a host (with or without user and port) and
// a path, or returns the zero RepoKey when either is unusable.
func repoKey(host, path string) RepoKey {
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	host = strings.ToLower(stripPort(host))
	path = strings.ToLower(strings.Trim(path, "/"))
	path = strings.TrimSuffix(path, ".git")
	path = strings.TrimRight(path, "/")
	if path == "" {
		return RepoKey{}
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return RepoKey{}
		}
	}
	k := host + "/" + path
	if len(k) > maxRepoKeyLen || strings.ContainsAny(k, " \t\r\n\x00?#\\") || strings.ContainsAny(host, "/:") && !strings.HasPrefix(host, "[") {
		return RepoKey{}
	}
	return RepoKey{k}
}

// stripPort removes ":port" from "host:port" and "[v6]:port".
func stripPort(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			return host[:i+1]
		}
		return host
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// ParseRepoURL returns the identity of the repository a URL names, in any
// of the shapes hosts and webhook payloads write: https://, http://,
// ssh://, git:// and file:// URLs (with or without "git+"), github://
// sources, scp-like "git@host:owner/repo.git", a bare "host/path" (what
// RepoKey.String writes) and a bare absolute path. User names and
// passwords, ports, queries and fragments are dropped: a key never holds
// a credential. Errors wrap ErrInvalidArgument.
func ParseRepoURL(raw string) (RepoKey, error) {
	k := parseRepoURL(raw)
	if !k.IsValid() {
		return RepoKey{}, fmt.Errorf("tracking: %s is not a repository URL (want https://host/owner/repo, git@host:owner/repo.git, ssh://, git://, file:// or github://owner/repo): %w", redact.Quote(raw), ErrInvalidArgument)
	}
	return k, nil
}

func parseRepoURL(raw string) RepoKey {
	if raw == "" || len(raw) > maxRepoKeyLen {
		return RepoKey{}
	}
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		switch scheme = strings.TrimPrefix(strings.ToLower(scheme), "git+"); scheme {
		case "github":
			src, err := ParseSource("github://" + rest)
			if err != nil {
				return RepoKey{}
			}
			return src.Repository()
		case "https", "http", "ssh", "git", "file":
			u, err := url.Parse(scheme + "://" + rest)
			if err != nil || u.Opaque != "" {
				return RepoKey{}
			}
			if scheme == "file" {
				if u.Host != "" {
					return RepoKey{}
				}
				return repoKey("", u.Path)
			}
			if u.Host == "" {
				return RepoKey{}
			}
			return repoKey(u.Host, u.Path)
		default:
			return RepoKey{}
		}
	}
	if strings.HasPrefix(raw, "/") {
		return repoKey("", raw)
	}
	// scp-like user@host:path, or host:path: a colon before any slash,
	// outside an IPv6 address's brackets.
	if i := scpColon(raw); i > 0 {
		return repoKey(raw[:i], raw[i+1:])
	}
	host, path, ok := strings.Cut(raw, "/")
	if !ok || host == "" {
		return RepoKey{}
	}
	return repoKey(host, path)
}

// scpColon returns the index of the colon that ends the host of an
// scp-like address, or -1: the first ':' before any '/' that is not
// inside "[…]".
func scpColon(s string) int {
	inBrackets := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			inBrackets = true
		case ']':
			inBrackets = false
		case '/':
			return -1
		case ':':
			if !inBrackets {
				return i
			}
		}
	}
	return -1
}
