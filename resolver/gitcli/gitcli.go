package gitcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/internal/gitexec"
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Defaults of Config.
const (
	DefaultTimeout       = gitexec.DefaultTimeout
	DefaultMaxFetchBytes = 512 << 20
)

// Config configures a Resolver. nil means defaults.
type Config struct {
	// GitPath is the git binary. Defaults to "git", looked up in PATH.
	GitPath string
	// Timeout bounds each git call, the download of a Fetch included.
	// Defaults to 30s; negative is refused.
	Timeout time.Duration
	// AllowFile lets the resolver read git+file sources (local
	// repositories: tests, air-gapped mirrors). Defaults to false, which
	// refuses them with resolver.ErrUnsupported.
	AllowFile bool
	// GitHubHosts says where github:// sources are read from: a source on
	// host H (the default host for github://owner/repo) is read from
	// <GitBaseURL of H>/owner/repo.git, and a host not listed from
	// https://H/owner/repo.git. Pass the same value as the github
	// resolver's Config.Hosts. Defaults to github.com alone.
	GitHubHosts resolver.GitHubHosts
	// Credentials supplies the credentials for private remotes, asked
	// before each git call that reaches a remote; see [Credentials] and the
	// package documentation for how each kind reaches git. Defaults to
	// none: git then goes without, and a remote that wants credentials
	// fails with resolver.ErrUnauthorized. (git runs without the host's git
	// configuration, so its credential helpers are not used.)
	Credentials Credentials
	// MaxFetchBytes bounds what Fetch downloads and what it writes. Defaults
	// to 512 MiB; negative is refused.
	MaxFetchBytes int64
	// HistoryCacheDir turns on force-push detection (NotAncestors): it
	// holds one treeless partial clone per upstream (commits only, each
	// bounded by MaxFetchBytes), made on first use and fetched into when
	// a branch moves. A relative path is taken from the working directory
	// of the process. Defaults to "" (off: NotAncestors returns
	// resolver.ErrUnsupported, and branches are never found rewritten).
	HistoryCacheDir string
}

// CommandError is a failed git call, found in the chain of the errors this
// package returns (errors.As). Its Error() is short; Stderr holds git's
// standard error for logs.
type CommandError = gitexec.Error

// Resolver resolves refs and fetches commits with the git command line. It
// is safe for concurrent use.
type Resolver struct {
	git         *gitexec.Runner
	allowFile   bool
	githubHosts resolver.GitHubHosts
	creds       Credentials
	maxFetch    int64
	history     historyCache
}

var (
	_ resolver.Resolver = (*Resolver)(nil)
	_ resolver.Fetcher  = (*Resolver)(nil)

	_ resolver.AncestryChecker = (*Resolver)(nil)
)

// New returns a Resolver; nil cfg means defaults. A negative Timeout or
// MaxFetchBytes returns an error wrapping tracking.ErrInvalidArgument.
func New(cfg *Config) (*Resolver, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Timeout < 0 {
		return nil, fmt.Errorf("gitcli: Config.Timeout is negative (%s); use 0 for the default of %s: %w", c.Timeout, DefaultTimeout, tracking.ErrInvalidArgument)
	}
	if c.MaxFetchBytes < 0 {
		return nil, fmt.Errorf("gitcli: Config.MaxFetchBytes is negative (%d); use 0 for the default of %d bytes: %w", c.MaxFetchBytes, DefaultMaxFetchBytes, tracking.ErrInvalidArgument)
	}
	if c.MaxFetchBytes == 0 {
		c.MaxFetchBytes = DefaultMaxFetchBytes
	}
	history, err := newHistoryCache(c.HistoryCacheDir)
	if err != nil {
		return nil, err
	}
	return &Resolver{
		git: gitexec.New(&gitexec.Config{
			Path:      c.GitPath,
			Timeout:   c.Timeout,
			AllowFile: c.AllowFile,
		}),
		allowFile:   c.AllowFile,
		githubHosts: c.GitHubHosts,
		creds:       c.Credentials,
		maxFetch:    c.MaxFetchBytes,
		history:     history,
	}, nil
}

// Resolve implements resolver.Resolver with one git ls-remote. It returns
// tracking.ErrInvalidRef or tracking.ErrInvalidSource for a request that
// fails validation and resolver.ErrUnsupported for an untracked ref, a
// local source or a transport not allowed, all before running git;
// resolver.ErrNotFound when the repository, the ref or a qualifying tag
// does not exist (an empty repository has none); resolver.ErrUnauthorized
// when the remote wants credentials Config.Credentials did not give or
// refuses the ones it gave; an error wrapping ctx's error when ctx ends.
//
// git has no conditional ls-remote: every call asks the remote. Unchanged
// is set when the answer's SHA and Version equal req.Known's and
// req.Known.Validator is empty (gitcli issues no validators, and one from
// another resolver is not claimed as still valid). Validator is always
// empty.
func (r *Resolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	up, err := r.remote(req.Source)
	if err != nil {
		return resolver.Result{}, err
	}
	remote := up.url
	ref := req.Ref
	if !ref.Tracked() {
		return resolver.Result{}, fmt.Errorf("gitcli: ref %s is not tracked, so there is nothing to resolve; track a tag, tag:latest, semver:, branch or head: %w", ref, resolver.ErrUnsupported)
	}

	var sha, version, name string
	switch ref.Kind() {
	case tracking.RefTag:
		full := "refs/tags/" + ref.Name()
		refs, _, err := r.lsRemote(ctx, up, nil, full, full+"^{}")
		if err != nil {
			return resolver.Result{}, err
		}
		if sha = refs.commit(full); sha == "" {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: no tag %q: %w", remote, ref.Name(), resolver.ErrNotFound)
		}
		version, name = ref.Name(), ref.Name()
	case tracking.RefBranch:
		full := "refs/heads/" + ref.Name()
		refs, _, err := r.lsRemote(ctx, up, nil, full)
		if err != nil {
			return resolver.Result{}, err
		}
		if sha = refs[full]; sha == "" {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: no branch %q: %w", remote, ref.Name(), resolver.ErrNotFound)
		}
		name = ref.Name()
	case tracking.RefHead:
		refs, symrefs, err := r.lsRemote(ctx, up, []string{"--symref"}, "HEAD")
		if err != nil {
			return resolver.Result{}, err
		}
		if sha = refs["HEAD"]; sha == "" {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: HEAD points at no commit (empty repository?): %w", remote, resolver.ErrNotFound)
		}
		// A detached HEAD has no symref; its revision is named HEAD.
		name = "HEAD"
		if target, ok := strings.CutPrefix(symrefs["HEAD"], "refs/heads/"); ok && tracking.ValidateRefName(target) == nil {
			name = target
		}
	case tracking.RefLatest, tracking.RefSemver:
		refs, _, err := r.lsRemote(ctx, up, []string{"--tags"})
		if err != nil {
			return resolver.Result{}, err
		}
		version, err = tagselect.Select(ref, refs.tagNames())
		if errors.Is(err, tagselect.ErrNoMatch) {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: no tag matches %s: %w", remote, ref, resolver.ErrNotFound)
		}
		if err != nil {
			return resolver.Result{}, fmt.Errorf("gitcli: %w", err)
		}
		sha, name = refs.commit("refs/tags/"+version), version
	}

	res := resolver.Result{SHA: sha, Version: version, Revision: resolver.Revision(name, sha)}
	res.Unchanged = req.Known.SHA == sha && req.Known.Version == version && req.Known.Validator == ""
	return res, nil
}

// upstream is where git reaches a source: its URL and, for a github
// source, its GitHub host, looked up once per operation.
type upstream struct {
	source tracking.Source
	url    string
	// github is the GitHub host of a github source; zero for git sources.
	github resolver.GitHubHost
}

// remote returns where git reaches src. Sources are valid by
// construction, so only what the configuration decides is checked here: a
// source with an upstream, file only when allowed, and where a github
// source is read from.
func (r *Resolver) remote(src tracking.Source) (upstream, error) {
	switch src.Scheme() {
	case tracking.SchemeGit:
		if src.Transport() == "file" && !r.allowFile {
			return upstream{}, fmt.Errorf("gitcli: source %s: file transport not enabled (set Config.AllowFile): %w", src, resolver.ErrUnsupported)
		}
		return upstream{source: src, url: src.URL()}, nil
	case tracking.SchemeGitHub:
		// A host not listed serves git over https at its own address.
		host, _ := r.githubHosts.Lookup(src)
		return upstream{source: src, url: host.GitBaseURL + "/" + src.Owner() + "/" + src.Repo() + ".git", github: host}, nil
	default:
		return upstream{}, fmt.Errorf("gitcli: source %q has no upstream (want a git or github source): %w", src, resolver.ErrUnsupported)
	}
}

// refList is the answer of ls-remote: full ref name (peeled entries end
// in "^{}") to object id.
type refList map[string]string

// commit returns the commit a ref names: the peeled id for an annotated
// tag, the id itself otherwise, "" when the ref is absent.
func (l refList) commit(name string) string {
	if sha := l[name+"^{}"]; sha != "" {
		return sha
	}
	return l[name]
}

// tagNames lists the tags (without "refs/tags/"), skipping names git's
// rules refuse, which a hostile remote could send.
func (l refList) tagNames() []string {
	var names []string
	for full := range l {
		name, ok := strings.CutPrefix(full, "refs/tags/")
		if ok && !strings.HasSuffix(name, "^{}") && tracking.ValidateRefName(name) == nil {
			names = append(names, name)
		}
	}
	return names
}

// lsRemote runs "git ls-remote <flags> -- <up.url> <patterns>" and parses
// its answer: refs by full name and, with --symref, symbolic refs by name.
func (r *Resolver) lsRemote(ctx context.Context, up upstream, flags []string, patterns ...string) (refList, map[string]string, error) {
	args := append([]string{"ls-remote"}, flags...)
	args = append(append(args, "--", up.url), patterns...)
	out, err := r.remoteCall(ctx, up, "", args...)
	if err != nil {
		return nil, nil, err
	}
	return parseLsRemote(up.url, out)
}

// parseLsRemote parses the output of ls-remote from remote: one
// "<object id>\t<ref name>" per line, or "ref: <target>\t<name>" for a
// symbolic ref. A line without a tab, or an object id that is not a full
// lowercase SHA, refuses the whole answer: a hostile remote could have
// shaped it.
func parseLsRemote(remote string, out []byte) (refList, map[string]string, error) {
	refs, symrefs := refList{}, map[string]string{}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		id, name, ok := strings.Cut(string(line), "\t")
		if !ok {
			return nil, nil, fmt.Errorf("gitcli: ls-remote %s: malformed line %d of output", remote, i+1)
		}
		if target, isSym := strings.CutPrefix(id, "ref: "); isSym {
			symrefs[name] = target
			continue
		}
		if err := tracking.ValidateSHA(id); err != nil {
			return nil, nil, fmt.Errorf("gitcli: ls-remote %s: line %d: %w", remote, i+1, err)
		}
		refs[name] = id
	}
	return refs, symrefs, nil
}

// notFoundMarks are what git writes (in the C locale) when a repository
// or an object does not exist.
var notFoundMarks = []string{
	"repository not found",
	"does not appear to be a git repository",
	"' not found",
	"returned error: 404",
	"not our ref",
	"no such remote ref",
	"couldn't find remote ref",
}

// authMarks are what git and ssh write (in the C locale) when a remote
// wants credentials it did not get or refuses the ones it got.
var authMarks = []string{
	"could not read username",
	"could not read password",
	"authentication failed",
	"returned error: 401",
	"returned error: 403",
	"permission denied (publickey",
	"permission denied, please try again",
	"host key verification failed",
}

// remoteCall runs one git command that reaches up (ls-remote, fetch) in
// repo ("" for none), with the credential Config.Credentials gives for
// up's source, and classifies a failure.
func (r *Resolver) remoteCall(ctx context.Context, up upstream, repo string, args ...string) ([]byte, error) {
	cred, err := r.credential(ctx, up)
	if err != nil {
		return nil, err
	}
	defer cred.cleanup()
	out, err := r.git.RunCall(ctx, repo, cred.call, args...)
	if err != nil {
		return nil, classify(args[0], up.url, cred.sent, err)
	}
	return out, nil
}

// classify wraps a failed git call once: context errors stay matchable,
// refused credentials match resolver.ErrUnauthorized (whether sent tells
// what to fix), "not found" answers match resolver.ErrNotFound, and the
// *CommandError stays in the chain for logs. Credentials are checked first:
// a remote that refused them has said nothing about what exists.
func classify(op, remote string, sent bool, err error) error {
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode <= 0 {
		return fmt.Errorf("gitcli: %s %s: %w", op, remote, err)
	}
	if ce.StderrContains(authMarks...) {
		_, host := remoteHost(remote)
		advice := "it asked for credentials and none are configured; set gitcli.Config.Credentials to return a token (Basic or Bearer) for HTTPS or an SSH key with its known_hosts file for ssh"
		if sent {
			advice = "it refused the credentials from gitcli.Config.Credentials; check that the token or key is current and has access to the repository, and for ssh that the known_hosts file holds the server's host key"
		}
		return fmt.Errorf("gitcli: %s %s: %s: %s: %w: %w", op, remote, host, advice, resolver.ErrUnauthorized, err)
	}
	if ce.StderrContains(notFoundMarks...) {
		return fmt.Errorf("gitcli: %s %s: %w: %w", op, remote, resolver.ErrNotFound, err)
	}
	return fmt.Errorf("gitcli: %s %s: %w", op, remote, err)
}
