package tracking

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// SourceScheme says where a plugin comes from.
type SourceScheme string

const (
	SchemeGitHub SourceScheme = "github" // github://owner/repo
	SchemeGit    SourceScheme = "git"    // git+https, git+http, git+ssh, git+file
	SchemeLocal  SourceScheme = "local"  // local://name; no upstream
)

// HasUpstream reports whether sources of the scheme can drift (github and
// git): the schemes a resolver answers for.
func (s SourceScheme) HasUpstream() bool { return s == SchemeGitHub || s == SchemeGit }

// Source is a parsed plugin source: an immutable, comparable value (usable
// as a map key, compared with ==) made only by [ParseSource] and
// [GitHubSource], so every Source other than the zero one is valid. The
// zero Source is invalid: IsValid reports false and String returns "".
//
// Two sources are equal when their canonical forms are: github://acme/w
// (the default GitHub host) and github://github.com/acme/w (a host named
// explicitly) are different values, because which host is the default is
// configured on the resolver.
type Source struct {
	scheme SourceScheme
	// host is the GitHub host ("" for the default host) or the host of a
	// git URL ("" for file URLs).
	host string
	// owner and repo are set for SchemeGitHub.
	owner string
	repo  string
	// url is the git remote for SchemeGit, without the "git+" prefix and
	// without the fragment.
	url string
	// name is the plugin name for SchemeLocal.
	name string
	// from is the optional "#ref" part.
	from Ref
}

// IsValid reports whether s was made by a parser or constructor; only the
// zero Source is not.
func (s Source) IsValid() bool { return s.scheme != "" }

// Scheme says where the plugin comes from; "" for the zero Source.
func (s Source) Scheme() SourceScheme { return s.scheme }

// Host is the host of the upstream: for a GitHub source the host written
// in it ("ghe.example.com", "ghe.example.com:8443"), or "" for
// github://owner/repo, which means the default GitHub host configured on
// the resolver; for a git source the host of its URL, lowercase with its
// port if any ("git.example.com:443", "[::1]:8080"), "" for file URLs; ""
// for local sources.
func (s Source) Host() string { return s.host }

// Owner is the repository owner of a GitHub source, "" otherwise.
func (s Source) Owner() string { return s.owner }

// Repo is the repository name of a GitHub source (without ".git"), ""
// otherwise.
func (s Source) Repo() string { return s.repo }

// URL is the git remote of a git source, without the "git+" prefix and
// without the "#ref": "https://host/path.git", "ssh://git@host/path",
// "file:///abs/path"; "" for other schemes.
func (s Source) URL() string { return s.url }

// Name is the plugin name of a local source, "" otherwise.
func (s Source) Name() string { return s.name }

// InstalledFrom is the optional "#ref" part: the ref the plugin was
// installed from (not the ref it tracks); the zero Ref (none) when absent.
func (s Source) InstalledFrom() Ref { return s.from }

// GitHubSource returns the source of repository owner/repo on a GitHub
// host, the one ParseSource returns for github://owner/repo (host "", the
// default GitHub host) or github://host/owner/repo. The rules are
// ParseSource's. Errors wrap ErrInvalidSource.
func GitHubSource(host, owner, repo string) (Source, error) {
	text := "github://" + owner + "/" + repo
	if host != "" {
		text = "github://" + host + "/" + owner + "/" + repo
	}
	var problem string
	switch {
	case strings.ContainsAny(host+owner+repo, "/#"):
		problem = `host, owner and repository cannot contain "/" or "#"`
	case host == "" && strings.ContainsAny(owner, ".:"):
		problem = `github owner contains "." or ":"; a host is passed as the first argument`
	}
	if problem != "" {
		return Source{}, fmt.Errorf("tracking: %w %s: %s", ErrInvalidSource, redact.Quote(text), problem)
	}
	return ParseSource(text)
}

// Limits of the source grammar.
const (
	maxSourceLen      = 2048
	maxGitHubOwnerLen = 39
	maxGitHubRepoLen  = 100
	maxHostLen        = 253
	maxHostLabelLen   = 63
	maxPluginNameLen  = 100
	maxWorkspaceIDLen = 128
)

// sourceShapes is the hint of errors that cannot say anything more precise.
const sourceShapes = "write github://owner/repo, git+https://host/path, git+ssh://git@host/path, git+file:///abs/path or local://name"

// ParseSource parses a plugin source (see the package documentation for the
// grammar). It rejects credentials in URLs, transports other than https,
// http, ssh and file, GitHub owners and repositories outside GitHub's
// grammar, and local names that are not plugin names. Errors wrap
// ErrInvalidSource and say what to write instead.
//
// The rules in detail:
//   - The input is at most 2048 bytes of valid UTF-8 without whitespace,
//     control or invisible format characters anywhere (so a semver "#ref"
//     must be written without spaces: #semver:>=1.0,<2), and without '%'
//     anywhere, "#ref" included: percent-encoding is never decoded, so the
//     URL reviewed is the URL fetched and a URL parser reading the
//     canonical form cannot decode it into something else.
//   - Schemes are case-insensitive and written in lowercase.
//   - github://owner/repo: the owner is 1 to 39 ASCII letters, digits and
//     '-', not beginning or ending with '-'; the repository is 1 to 100
//     ASCII letters, digits and "._-", not "." or "..", with one trailing
//     ".git" removed (a name still ending in ".git" is rejected). No user,
//     query or further path segment. Case is kept as written.
//   - github://host/owner/repo names another GitHub (Enterprise) host: the
//     first segment is a host when it contains '.' or ':' (an owner never
//     does), with the host rules of git+https below (lowercased, optional
//     port); github://owner/repo is the default host, configured on the
//     resolver.
//   - git+https://, git+http://, git+ssh://, git+file://: parsed with
//     net/url. No user info for https and http (a token written as the
//     user name is a credential too), no password for ssh (a user such as
//     "git@" is fine), no query, no '\', no "." or
//     ".." path segment, no empty segment ("//" or a trailing '/'), a path
//     other than "/". https, http and ssh need a host name (ASCII letters,
//     digits, "-_."; IDN hosts in their xn-- form) or a bracketed IPv6
//     address, written in lowercase; a port, if any, is 1 to 65535 and is
//     written without leading zeros. file takes no host: git+file:///abs.
//   - "#ref" is parsed by ParseRef and stored in InstalledFrom; "#" and
//     "#none" are rejected. Local sources take no "#ref".
//   - local://name and a bare name are local plugins; the name must pass
//     ValidatePluginName.
//
// Remote helpers (ext::, fd:: and any "<x>::"), scp-like addresses
// (git@host:path), URLs without the git+ prefix and unknown schemes are
// rejected with the form to write instead.
func ParseSource(s string) (Source, error) {
	src, problem := parseSource(s)
	if problem != "" {
		return Source{}, fmt.Errorf("tracking: %w %s: %s", ErrInvalidSource, redact.Quote(s), problem)
	}
	return src, nil
}

// parseSource is ParseSource without the error wrapping: it returns the
// source or a description of what is wrong and what to write instead.
func parseSource(s string) (Source, string) {
	switch {
	case s == "":
		return Source{}, "empty source; " + sourceShapes
	case len(s) > maxSourceLen:
		return Source{}, fmt.Sprintf("longer than %d bytes (%d)", maxSourceLen, len(s))
	}
	if helper, ok := remoteHelper(s); ok {
		return Source{}, fmt.Sprintf("transport %s not allowed (git remote helpers can run commands); write git+https://…, git+ssh://… or git+file://…", redact.Quote(helper+"::"))
	}
	if p := sourceCharProblem(s); p != "" {
		return Source{}, p
	}
	if strings.Contains(s, "%") {
		// Anywhere, the #ref included: a reader that parses the canonical
		// form as a URL would decode it into something else.
		return Source{}, `"%" not allowed: percent-encoding is not decoded (so the URL reviewed is the URL fetched); write the characters themselves`
	}

	body, frag, hasFrag := strings.Cut(s, "#")
	var from Ref
	if hasFrag {
		r, p := parseRef(frag)
		switch {
		case frag == "":
			return Source{}, `empty "#": remove it or write the installed-from ref after it, e.g. #tag:v1.2.3`
		case p != "":
			return Source{}, fmt.Sprintf("#ref: %s (accepted: %s)", p, refShapes)
		case r == Ref{}:
			return Source{}, `"#none": remove it; a source without "#ref" has no installed-from ref`
		}
		from = r
	}

	scheme, rest, hasScheme := strings.Cut(body, "://")
	if !hasScheme {
		return parseSchemeless(body, hasFrag)
	}
	var (
		src Source
		p   string
	)
	switch scheme = strings.ToLower(scheme); scheme {
	case "github":
		src, p = parseGitHub(rest)
	case "git+https", "git+http", "git+ssh", "git+file":
		src, p = parseGitURL(strings.TrimPrefix(scheme, "git+"), rest)
	case "local":
		return parseLocal(rest, hasFrag)
	case "https", "http", "ssh", "file":
		hint := fmt.Sprintf("plain %s:// URL: prefix it with git+ (git+%s://…)", scheme, scheme)
		if authority, _, _ := strings.Cut(rest, "/"); scheme != "ssh" && strings.Contains(authority, "@") {
			hint += ` and remove "user@": credentials in URLs are not allowed`
		}
		return Source{}, hint
	case "git":
		return Source{}, "the unauthenticated git:// protocol is not allowed; write git+https://… or git+ssh://…"
	default:
		if strings.HasPrefix(scheme, "git+") {
			return Source{}, fmt.Sprintf("transport %s not allowed; write git+https://, git+http://, git+ssh:// or git+file://", redact.Quote(strings.TrimPrefix(scheme, "git+")))
		}
		return Source{}, fmt.Sprintf("unknown scheme %s; %s", redact.Quote(scheme), sourceShapes)
	}
	if p != "" {
		return Source{}, p
	}
	src.from = from
	return src, ""
}

// remoteHelper reports git's "<helper>::<address>" syntax, which hands the
// address to git-remote-<helper> (ext:: runs an arbitrary command).
func remoteHelper(s string) (string, bool) {
	i := strings.Index(s, "::")
	if i <= 0 {
		return "", false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !isASCIIAlnum(c) && !strings.ContainsRune("+-._~", rune(c)) {
			return "", false
		}
	}
	return s[:i], true
}

// sourceCharProblem rejects invalid UTF-8, whitespace, control and format
// characters anywhere in a source.
func sourceCharProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for i, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("control character %U at byte %d; sources never contain one", r, i)
		case unicode.IsSpace(r):
			return fmt.Sprintf("whitespace %U at byte %d; sources never contain whitespace", r, i)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("invisible format character %U at byte %d; sources never contain one", r, i)
		}
	}
	return ""
}

// parseSchemeless handles inputs without "://": a bare plugin name, or a
// mistake worth a precise hint.
func parseSchemeless(body string, hasFrag bool) (Source, string) {
	before, _, hasColon := strings.Cut(body, ":")
	if hasColon && !strings.Contains(before, "/") {
		lower := strings.ToLower(before)
		switch lower {
		case "github", "local", "git+https", "git+http", "git+ssh", "git+file", "https", "http", "ssh", "file":
			return Source{}, fmt.Sprintf(`missing "//" after %s; write %s://…`, redact.Quote(before+":"), lower)
		}
		// The hint moves the text around, so it is built from the
		// redacted text: "user:pass@host:path" must not become
		// "git+ssh://user/pass@host/path", where no rule finds the password.
		host, path, _ := strings.Cut(redact.String(body), ":")
		hint := redact.Quote("git+ssh://" + host + "/" + strings.TrimPrefix(path, "/"))
		if strings.ContainsAny(host, "@.") {
			return Source{}, fmt.Sprintf("scp-like address %s: write %s", redact.Quote(body), hint)
		}
		return Source{}, fmt.Sprintf("unknown scheme %s; %s (an scp-like host:path is written %s)", redact.Quote(host), sourceShapes, hint)
	}
	if p := pluginNameProblem(body); p != "" {
		hint := sourceShapes
		if strings.HasPrefix(body, "/") {
			hint = fmt.Sprintf("a local repository is written %s", redact.Quote("git+file://"+body))
		}
		return Source{}, fmt.Sprintf("not a plugin name: %s; %s", p, hint)
	}
	if hasFrag {
		return Source{}, `local sources take no "#ref": remove it`
	}
	return Source{scheme: SchemeLocal, name: body}, ""
}

func parseLocal(name string, hasFrag bool) (Source, string) {
	if p := pluginNameProblem(name); p != "" {
		return Source{}, "local://name: plugin name " + p
	}
	if hasFrag {
		return Source{}, `local sources take no "#ref": remove it`
	}
	return Source{scheme: SchemeLocal, name: name}, ""
}

// parseGitHub parses "owner/repo" or "host/owner/repo" after "github://".
// The first segment is a host when it contains '.' or ':' (or is a
// bracketed IPv6 address), which a GitHub owner never does.
func parseGitHub(rest string) (Source, string) {
	if strings.Contains(rest, "@") {
		return Source{}, `github sources take no user or credentials ("user@"): write github://owner/repo and give the resolver an authenticated HTTP client`
	}
	if strings.Contains(rest, "?") {
		return Source{}, "github sources take no query string: write github://owner/repo"
	}
	parts := strings.Split(rest, "/")
	var host string
	if strings.ContainsAny(parts[0], ".:[") {
		h, p := gitHubHost(parts[0])
		if p != "" {
			return Source{}, p
		}
		host, parts = h, parts[1:]
	}
	switch {
	case len(parts) == 3 && parts[2] == "":
		return Source{}, `trailing "/": write github://owner/repo or github://host/owner/repo`
	case len(parts) != 2 && host != "":
		return Source{}, fmt.Sprintf("want exactly github://host/owner/repo after the host %s", redact.Quote(host))
	case len(parts) != 2:
		return Source{}, `want exactly github://owner/repo, or github://host/owner/repo for another GitHub host (a host contains "." or ":")`
	}
	owner, repo := parts[0], parts[1]
	if p := gitHubOwnerProblem(owner); p != "" {
		return Source{}, "github owner " + p
	}
	repo = strings.TrimSuffix(repo, ".git")
	if p := gitHubRepoProblem(repo); p != "" {
		return Source{}, "github repository " + p
	}
	return Source{scheme: SchemeGitHub, host: host, owner: owner, repo: repo}, ""
}

// gitHubHost checks the host (and optional port) of a GitHub Enterprise
// source with the rules of git+https hosts and returns it canonical.
func gitHubHost(authority string) (string, string) {
	u, err := url.Parse("https://" + authority + "/")
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "github host: " + urlProblem(err)
	}
	h, p := canonicalHost(u)
	if p != "" {
		return "", "github " + p
	}
	return h, ""
}

func gitHubOwnerProblem(owner string) string {
	switch {
	case owner == "":
		return "is empty"
	case len(owner) > maxGitHubOwnerLen:
		return fmt.Sprintf("is longer than %d characters (%d)", maxGitHubOwnerLen, len(owner))
	case owner[0] == '-' || owner[len(owner)-1] == '-':
		return `begins or ends with "-"`
	}
	for i := 0; i < len(owner); i++ {
		if c := owner[i]; !isASCIIAlnum(c) && c != '-' {
			return fmt.Sprintf("contains %s; allowed: ASCII letters, digits and -", describeByteAt(owner, i))
		}
	}
	return ""
}

// gitHubRepoProblem checks a repository name after one ".git" is removed.
func gitHubRepoProblem(repo string) string {
	switch {
	case repo == "":
		return "is empty"
	case len(repo) > maxGitHubRepoLen:
		return fmt.Sprintf("is longer than %d characters (%d)", maxGitHubRepoLen, len(repo))
	case repo == "." || repo == "..":
		return fmt.Sprintf("cannot be %q", repo)
	case strings.HasSuffix(repo, ".git"):
		return `ends in ".git" twice; write the name once, e.g. github://owner/repo`
	}
	for i := 0; i < len(repo); i++ {
		if c := repo[i]; !isASCIIAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Sprintf("contains %s; allowed: ASCII letters, digits and . _ -", describeByteAt(repo, i))
		}
	}
	return ""
}

// parseGitURL parses the part after "git+<transport>://" and builds the
// canonical URL from its checked components.
func parseGitURL(transport, rest string) (Source, string) {
	switch {
	case strings.Contains(rest, `\`):
		return Source{}, `backslash not allowed; separate path segments with "/"`
	case strings.Contains(rest, "?"):
		return Source{}, `query string not allowed: remove "?…"`
	}
	u, err := url.Parse(transport + "://" + rest)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Source{}, "not a valid URL: " + urlProblem(err)
	}

	var user string
	if u.User != nil {
		switch transport {
		case "https", "http":
			return Source{}, fmt.Sprintf(`credentials in URLs are not allowed: remove "user@" (a token written as the user name is a credential too) and supply credentials through the resolver (gitcli.Config.Credentials) instead, e.g. git+%s://host/path`, transport)
		case "file":
			return Source{}, "git+file URLs take no user: write git+file:///abs/path"
		}
		if _, hasPassword := u.User.Password(); hasPassword {
			return Source{}, `ssh password in URL not allowed: remove ":password" and use ssh keys or an agent, e.g. git+ssh://git@host/path`
		}
		user = u.User.Username()
		if p := sshUserProblem(user); p != "" {
			return Source{}, "ssh user " + p
		}
	}

	var host string
	if transport == "file" {
		if u.Host != "" {
			return Source{}, fmt.Sprintf("git+file URLs take no host: write %s (three slashes, absolute path)", redact.Quote("git+file:///"+strings.TrimPrefix(u.Path, "/")))
		}
	} else {
		h, p := canonicalHost(u)
		if p != "" {
			return Source{}, p
		}
		host = h
	}

	path := u.Path
	if path == "" || path == "/" {
		if transport == "file" {
			return Source{}, "no repository path: write git+file:///abs/path"
		}
		return Source{}, fmt.Sprintf("no repository path: write git+%s://host/path", transport)
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		switch seg {
		case "":
			return Source{}, `empty path segment ("//" or a trailing "/"): remove it`
		case ".", "..":
			return Source{}, fmt.Sprintf("path segment %q not allowed: write the path without it", seg)
		}
	}

	canon := transport + "://"
	if user != "" {
		canon += user + "@"
	}
	canon += host + path
	return Source{scheme: SchemeGit, host: host, url: canon}, ""
}

// urlProblem describes a net/url parse error without the text that
// "invalid port" quotes: the "port" is what follows the last ':' before the
// first '/', which for "user:pa/ss@host" is the start of a password.
func urlProblem(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "invalid port ") {
		return `what follows ":" in the host is not a port from 1 to 65535 (and credentials are not allowed in URLs)`
	}
	return redact.Short(msg)
}

// canonicalHost checks the host and port of an https, http or ssh URL and
// returns them lowercased, the port without leading zeros.
func canonicalHost(u *url.URL) (string, string) {
	if u.Host == "" {
		return "", fmt.Sprintf("no host: write git+%s://host/path", u.Scheme)
	}
	if strings.HasSuffix(u.Host, ":") {
		return "", `empty port: remove the ":" or write a port number`
	}
	name := u.Hostname()
	var host string
	if strings.HasPrefix(u.Host, "[") {
		addr, err := netip.ParseAddr(name)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Sprintf("host %s: brackets hold an IPv6 address, e.g. [2001:db8::1]", redact.Quote(name))
		}
		host = "[" + addr.String() + "]"
	} else {
		if p := hostNameProblem(name); p != "" {
			return "", fmt.Sprintf("host %s %s", redact.Quote(name), p)
		}
		host = strings.ToLower(name)
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Sprintf("port %s: want 1 to 65535", redact.Quote(port))
		}
		host += ":" + strconv.Itoa(n)
	}
	return host, ""
}

// hostNameProblem checks a DNS name (or IPv4 address): ASCII labels of
// letters, digits, '-' and '_' (ssh host aliases use it), none empty,
// none beginning with '-' (ssh would read it as an option).
func hostNameProblem(name string) string {
	if len(name) > maxHostLen {
		return fmt.Sprintf("is longer than %d bytes", maxHostLen)
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return `has an empty label (leading, trailing or double ".")`
		case len(label) > maxHostLabelLen:
			return fmt.Sprintf("has a label longer than %d bytes", maxHostLabelLen)
		case label[0] == '-':
			return `has a label beginning with "-"`
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isASCIIAlnum(c) && c != '-' && c != '_' {
				return fmt.Sprintf("contains %s; allowed: ASCII letters, digits, - _ . (write internationalised names in their xn-- form)", describeByteAt(label, i))
			}
		}
	}
	return ""
}

// sshUserProblem checks an ssh user name: ASCII letters, digits and "._-",
// not beginning with '-' (ssh would read it as an option).
func sshUserProblem(user string) string {
	switch {
	case user == "":
		return `is empty: remove the "@" or write a user, e.g. git+ssh://git@host/path`
	case user[0] == '-':
		return `begins with "-"`
	}
	for i := 0; i < len(user); i++ {
		if c := user[i]; !isASCIIAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Sprintf("contains %s; allowed: ASCII letters, digits and . _ -", describeByteAt(user, i))
		}
	}
	return ""
}

// String returns the canonical form, which ParseSource accepts and returns
// unchanged: "github://owner/repo[#ref]" (the default GitHub host),
// "github://host/owner/repo[#ref]", "git+https://host/path[#ref]",
// "local://name". InstalledFrom is written with Ref.String and left out
// when it is none. The zero Source is "".
func (s Source) String() string {
	var b string
	switch s.scheme {
	case SchemeGitHub:
		b = "github://" + s.owner + "/" + s.repo
		if s.host != "" {
			b = "github://" + s.host + "/" + s.owner + "/" + s.repo
		}
	case SchemeGit:
		b = "git+" + s.url
	case SchemeLocal:
		return "local://" + s.name
	default:
		return ""
	}
	if s.from != (Ref{}) {
		b += "#" + s.from.String()
	}
	return b
}

// HasUpstream reports whether the source can drift (github and git).
func (s Source) HasUpstream() bool { return s.scheme.HasUpstream() }

// Transport is the URL scheme of a git source ("https", "http", "ssh",
// "file"); "https" for GitHub; "" for local.
func (s Source) Transport() string {
	switch s.scheme {
	case SchemeGitHub:
		return "https"
	case SchemeGit:
		transport, _, _ := strings.Cut(s.url, "://")
		return transport
	default:
		return ""
	}
}

// MarshalText implements encoding.TextMarshaler with the canonical form;
// the zero Source is "".
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSource; ""
// sets the zero Source (as MarshalText writes it), so an absent source
// reads back as one, and IsValid tells it apart.
func (s *Source) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Source{}
		return nil
	}
	v, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ValidatePluginName checks a plugin name: ^[a-z0-9][a-z0-9._-]{0,99}$ and
// no "..". Plugin names become path components on hosts. Errors wrap
// ErrInvalidPluginName.
func ValidatePluginName(name string) error {
	if p := pluginNameProblem(name); p != "" {
		return fmt.Errorf("tracking: %w %s: %s", ErrInvalidPluginName, redact.Quote(name), p)
	}
	return nil
}

func pluginNameProblem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case len(name) > maxPluginNameLen:
		return fmt.Sprintf("is longer than %d bytes (%d)", maxPluginNameLen, len(name))
	case !isLowerAlnum(name[0]):
		return fmt.Sprintf("begins with %s; it must begin with a lowercase letter or digit", describeChar(name, 0))
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' {
			return fmt.Sprintf("contains %s; allowed: a-z 0-9 . _ -", describeByteAt(name, i))
		}
	}
	if strings.Contains(name, "..") {
		return `contains ".."`
	}
	return ""
}

// ValidateWorkspaceID checks a workspace id: 1 to 128 bytes of ASCII
// letters, digits and "._:@-", starting with a letter or digit. Errors wrap
// ErrInvalidWorkspaceID.
func ValidateWorkspaceID(id string) error {
	if p := workspaceIDProblem(id); p != "" {
		return fmt.Errorf("tracking: %w %s: %s", ErrInvalidWorkspaceID, redact.Quote(id), p)
	}
	return nil
}

func workspaceIDProblem(id string) string {
	switch {
	case id == "":
		return "is empty"
	case len(id) > maxWorkspaceIDLen:
		return fmt.Sprintf("is longer than %d bytes (%d)", maxWorkspaceIDLen, len(id))
	case !isASCIIAlnum(id[0]):
		return fmt.Sprintf("begins with %s; it must begin with an ASCII letter or digit", describeChar(id, 0))
	}
	for i := 1; i < len(id); i++ {
		if c := id[i]; !isASCIIAlnum(c) && !strings.ContainsRune("._:@-", rune(c)) {
			return fmt.Sprintf("contains %s; allowed: ASCII letters, digits and . _ : @ -", describeByteAt(id, i))
		}
	}
	return ""
}

// describeByteAt names the character starting at byte i of s for an error
// message: quoted and escaped if invisible, with its code point unless it
// is printable ASCII, so that a look-alike (U+2215 for '/') is told apart.
func describeByteAt(s string, i int) string {
	return describeChar(s, i) + fmt.Sprintf(" at byte %d", i)
}

func describeChar(s string, i int) string {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte %#02x (not valid UTF-8)", s[i])
	}
	if r < utf8.RuneSelf && r > 0x20 && r != 0x7f {
		return fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf("%q (%U)", r, r)
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
