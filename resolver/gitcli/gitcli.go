package gitcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/internal/gitexec"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Defaults of Config.
const (
	DefaultTimeout       = gitexec.DefaultTimeout
	DefaultGitHubBaseURL = "https://github.com"
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
	// GitHubBaseURL is where github://owner/repo sources are read from, as
	// <GitHubBaseURL>/owner/repo.git: an http or https URL without
	// credentials, query or fragment. Defaults to "https://github.com".
	GitHubBaseURL string
	// Env holds extra "KEY=value" variables for git, such as
	// GIT_SSH_COMMAND to name a key (it defaults to "ssh -o BatchMode=yes").
	// They cannot override the variables that harden the call (prompts,
	// protocols, configuration files). An entry that is not KEY=value is
	// refused.
	Env []string
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
	git       *gitexec.Runner
	allowFile bool
	github    string
	// githubHost is the host of github, lowercase: github sources naming
	// it, or no host, are read from github; others from their own host.
	githubHost string
	maxFetch   int64
	history    historyCache
}

var (
	_ resolver.Resolver = (*Resolver)(nil)
	_ resolver.Fetcher  = (*Resolver)(nil)

	_ resolver.AncestryChecker = (*Resolver)(nil)
)

// New returns a Resolver; nil cfg means defaults. A negative Timeout or
// MaxFetchBytes, a GitHubBaseURL that is not an http or https URL without
// credentials, query or fragment, or an Env entry that is not KEY=value
// returns an error wrapping tracking.ErrInvalidArgument.
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
	for i, kv := range c.Env {
		// The entry is not quoted: its value may be a credential.
		if key, _, ok := strings.Cut(kv, "="); !ok || key == "" || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("gitcli: Config.Env[%d] is not KEY=value; write each variable as NAME=value, such as GIT_SSH_COMMAND=ssh -i key: %w", i, tracking.ErrInvalidArgument)
		}
	}
	if c.GitHubBaseURL == "" {
		c.GitHubBaseURL = DefaultGitHubBaseURL
	}
	if c.MaxFetchBytes == 0 {
		c.MaxFetchBytes = DefaultMaxFetchBytes
	}
	github := strings.TrimSuffix(c.GitHubBaseURL, "/")
	host, err := baseHost(github)
	if err != nil {
		return nil, err
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
			Env:       c.Env,
		}),
		allowFile:  c.AllowFile,
		github:     github,
		githubHost: host,
		maxFetch:   c.MaxFetchBytes,
		history:    history,
	}, nil
}

// Resolve implements resolver.Resolver with one git ls-remote. It returns
// tracking.ErrInvalidRef or tracking.ErrInvalidSource for a request that
// fails validation and resolver.ErrUnsupported for an untracked ref, a
// local source or a transport not allowed, all before running git;
// resolver.ErrNotFound when the repository, the ref or a qualifying tag
// does not exist (an empty repository has none); an error wrapping ctx's
// error when ctx ends.
//
// git has no conditional ls-remote: every call asks the remote. Unchanged
// is set when the answer's SHA and Version equal req.Known's and
// req.Known.Validator is empty (gitcli issues no validators, and one from
// another resolver is not claimed as still valid). Validator is always
// empty.
func (r *Resolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	remote, err := r.remote(req.Source)
	if err != nil {
		return resolver.Result{}, err
	}
	ref := req.Ref
	if !ref.Tracked() {
		return resolver.Result{}, fmt.Errorf("gitcli: ref %s is not tracked, so there is nothing to resolve; track a tag, tag:latest, semver:, branch or head: %w", ref, resolver.ErrUnsupported)
	}

	var sha, version, name string
	switch ref.Kind() {
	case tracking.RefTag:
		full := "refs/tags/" + ref.Name()
		refs, _, err := r.lsRemote(ctx, remote, nil, full, full+"^{}")
		if err != nil {
			return resolver.Result{}, err
		}
		if sha = refs.commit(full); sha == "" {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: no tag %q: %w", remote, ref.Name(), resolver.ErrNotFound)
		}
		version, name = ref.Name(), ref.Name()
	case tracking.RefBranch:
		full := "refs/heads/" + ref.Name()
		refs, _, err := r.lsRemote(ctx, remote, nil, full)
		if err != nil {
			return resolver.Result{}, err
		}
		if sha = refs[full]; sha == "" {
			return resolver.Result{}, fmt.Errorf("gitcli: ls-remote %s: no branch %q: %w", remote, ref.Name(), resolver.ErrNotFound)
		}
		name = ref.Name()
	case tracking.RefHead:
		refs, symrefs, err := r.lsRemote(ctx, remote, []string{"--symref"}, "HEAD")
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
		refs, _, err := r.lsRemote(ctx, remote, []string{"--tags"})
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

// remote returns the URL git is given for src. Sources are valid by
// construction, so only what the configuration decides is checked here: a
// source with an upstream, file only when allowed, and where a github
// source is read from.
func (r *Resolver) remote(src tracking.Source) (string, error) {
	switch src.Scheme() {
	case tracking.SchemeGit:
		if src.Transport() == "file" && !r.allowFile {
			return "", fmt.Errorf("gitcli: source %s: file transport not enabled (set Config.AllowFile): %w", src, resolver.ErrUnsupported)
		}
		return src.URL(), nil
	case tracking.SchemeGitHub:
		base := r.github
		if host := src.Host(); host != "" && host != r.githubHost {
			// Another GitHub (Enterprise) host serves git over https at
			// its own address.
			base = "https://" + host
		}
		return base + "/" + src.Owner() + "/" + src.Repo() + ".git", nil
	default:
		return "", fmt.Errorf("gitcli: source %q has no upstream (want a git or github source): %w", src, resolver.ErrUnsupported)
	}
}

// baseHost validates Config.GitHubBaseURL and returns its host (with
// port), lowercase.
func baseHost(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("gitcli: Config.GitHubBaseURL %s: want an http or https URL without credentials, query or fragment, such as %q: %w", redact.Quote(base), DefaultGitHubBaseURL, tracking.ErrInvalidArgument)
	}
	return strings.ToLower(u.Host), nil
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

// lsRemote runs "git ls-remote <flags> -- <remote> <patterns>" and parses
// its answer: refs by full name and, with --symref, symbolic refs by name.
func (r *Resolver) lsRemote(ctx context.Context, remote string, flags []string, patterns ...string) (refList, map[string]string, error) {
	args := append([]string{"ls-remote"}, flags...)
	args = append(append(args, "--", remote), patterns...)
	out, err := r.git.Run(ctx, "", args...)
	if err != nil {
		return nil, nil, classify("ls-remote", remote, err)
	}
	return parseLsRemote(remote, out)
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

// classify wraps a failed git call once: context errors stay matchable,
// "not found" answers match resolver.ErrNotFound, and the *CommandError
// stays in the chain for logs.
func classify(op, remote string, err error) error {
	var ce *CommandError
	if errors.As(err, &ce) && ce.ExitCode > 0 && ce.StderrContains(notFoundMarks...) {
		return fmt.Errorf("gitcli: %s %s: %w: %w", op, remote, resolver.ErrNotFound, err)
	}
	return fmt.Errorf("gitcli: %s %s: %w", op, remote, err)
}
