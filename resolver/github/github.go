package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gogithub "github.com/google/go-github/v62/github"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

const (
	// DefaultBaseURL is the REST API root of github.com.
	DefaultBaseURL = "https://api.github.com/"
	// DefaultTimeout bounds one Resolve call.
	DefaultTimeout = 30 * time.Second

	// perPage is the page size of tag lists: GitHub's maximum.
	perPage = 100
	// maxPages bounds a tag listing (10,000 tags) so a misbehaving server
	// cannot keep a resolution paging forever.
	maxPages  = 100
	userAgent = "plugindrift"
)

// Config configures a Resolver. The zero value, like a nil *Config, means
// github.com without credentials.
type Config struct {
	// HTTPClient sends the requests. Authentication is its transport's job
	// (oauth2, a GitHub App installation transport) unless Token is set.
	// Defaults to http.DefaultClient.
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>" on every
	// request to the API host (and to no other host). It is never logged and
	// never part of an error. Leave it empty when HTTPClient authenticates.
	Token string
	// BaseURL is the REST API root, used as written (a missing trailing
	// slash is added): for GitHub Enterprise Server that is
	// "https://HOST/api/v3/". It must be an http or https URL without
	// credentials, query or fragment. Defaults to DefaultBaseURL.
	BaseURL string
	// Timeout bounds one Resolve call, every request it sends included.
	// Defaults to DefaultTimeout (30s).
	Timeout time.Duration
	// Now is the clock used for rate-limit arithmetic: the wait derived from
	// X-RateLimit-Reset and the instant until which requests are held back.
	// Defaults to time.Now.
	Now func() time.Time
	// Logger receives one debug record per request (method, path, status)
	// and a warning per rate limit; never credentials. Defaults to
	// discarding.
	Logger *slog.Logger
}

// String describes the configuration with the token redacted, and any
// credential in BaseURL too, so that printing a Config never shows one.
func (c Config) String() string {
	token := ""
	if c.Token != "" {
		token = "REDACTED"
	}
	return fmt.Sprintf("github.Config{BaseURL: %s, Token: %q, Timeout: %s}", strconv.Quote(redact.String(c.BaseURL)), token, c.Timeout)
}

// Resolver resolves refs of github:// sources through the GitHub REST API.
// Build it with New. It is safe for concurrent use; concurrent calls share
// the rate-limit state of the one API host.
type Resolver struct {
	httpClient *http.Client
	baseURL    *url.URL
	host       string
	// sourceHost is the GitHub host this resolver serves: the Host of
	// github://host/owner/repo sources it accepts besides the default
	// host's github://owner/repo.
	sourceHost string
	timeout    time.Duration
	now        func() time.Time
	log        *slog.Logger

	mu sync.Mutex
	// holdUntil is the instant before which the host asked not to be called.
	holdUntil time.Time
}

var _ resolver.Resolver = (*Resolver)(nil)

// New returns a Resolver configured by cfg; nil means defaults. It returns
// an error wrapping tracking.ErrInvalidArgument when BaseURL is not a usable
// API root or Token cannot be sent in an HTTP header.
func New(cfg *Config) (*Resolver, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := parseBaseURL(raw)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("github: Config.Timeout is negative (%s); use 0 for the default of %s: %w", cfg.Timeout, DefaultTimeout, tracking.ErrInvalidArgument)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	if cfg.Token != "" {
		if !validToken(cfg.Token) {
			// The token itself is not quoted: it is a credential.
			return nil, fmt.Errorf("github: Config.Token contains spaces or characters not allowed in an HTTP header; pass the token exactly as issued: %w", tracking.ErrInvalidArgument)
		}
		withToken := *hc
		withToken.Transport = &bearerTransport{base: hc.Transport, host: base.Host, header: "Bearer " + cfg.Token}
		hc = &withToken
	}
	r := &Resolver{
		httpClient: hc,
		baseURL:    base,
		host:       base.Host,
		sourceHost: sourceHost(base),
		timeout:    cfg.Timeout,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// sourceHost names the GitHub host an API root serves, as sources write
// it: "github.com" for api.github.com, the API root's host for GitHub
// Enterprise (https://ghe.example.com/api/v3/ serves ghe.example.com).
func sourceHost(base *url.URL) string {
	host := strings.ToLower(base.Host)
	if host == "api.github.com" {
		return "github.com"
	}
	return host
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github: Config.BaseURL is not a URL; write the API root, e.g. https://ghe.example/api/v3/: %w", tracking.ErrInvalidArgument)
	}
	switch {
	case u.User != nil:
		// Not quoted: the URL carries a credential.
		return nil, fmt.Errorf("github: Config.BaseURL must not contain credentials; use Config.Token or an authenticating HTTPClient: %w", tracking.ErrInvalidArgument)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("github: Config.BaseURL %s must be an http or https URL, e.g. https://ghe.example/api/v3/: %w", redact.Quote(raw), tracking.ErrInvalidArgument)
	case u.Host == "":
		return nil, fmt.Errorf("github: Config.BaseURL %s has no host: %w", redact.Quote(raw), tracking.ErrInvalidArgument)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return nil, fmt.Errorf("github: Config.BaseURL %s must not have a query or fragment: %w", redact.Quote(raw), tracking.ErrInvalidArgument)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

// Resolve implements resolver.Resolver for github:// sources; see the
// package documentation for the requests each ref shape costs and how
// errors and rate limits are reported.
func (r *Resolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	if err := checkRequest(req, r.sourceHost); err != nil {
		return resolver.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	switch req.Ref.Kind() {
	case tracking.RefBranch:
		return r.resolveCommit(ctx, req, "heads/"+req.Ref.Name(), req.Ref.Name(), "")
	case tracking.RefTag:
		return r.resolveCommit(ctx, req, "tags/"+req.Ref.Name(), req.Ref.Name(), req.Ref.Name())
	case tracking.RefHead:
		branch, err := r.defaultBranch(ctx, req.Source)
		if err != nil {
			return resolver.Result{}, err
		}
		return r.resolveCommit(ctx, req, "heads/"+branch, branch, "")
	default: // RefLatest, RefSemver: checkRequest admits nothing else.
		return r.resolveTags(ctx, req)
	}
}

// resolveCommit asks for the commit apiRef ("heads/X", "tags/X") points at,
// conditionally on the known SHA. name is the branch or tag the revision is
// labelled with; version is the Result.Version the ref yields.
func (r *Resolver) resolveCommit(ctx context.Context, req resolver.Request, apiRef, name, version string) (resolver.Result, error) {
	known := req.Known
	// A 304 vouches for known.SHA only; send the condition only when the
	// rest of Known is what this ref would yield, so an Unchanged result
	// that echoes Known is also correct.
	lastSHA := ""
	if isSHA(known.SHA) && known.Version == version {
		lastSHA = known.SHA
	}
	owner, repo := req.Source.Owner(), req.Source.Repo()
	op := describe(req)

	var sha string
	notModified, err := r.call(ctx, op, func(c *gogithub.Client) (*gogithub.Response, error) {
		s, resp, err := c.Repositories.GetCommitSHA1(ctx, owner, repo, apiRef, lastSHA)
		sha = s
		return resp, err
	})
	if err != nil {
		return resolver.Result{}, err
	}
	if notModified {
		return unchanged(op, lastSHA, known, name)
	}
	sha = strings.TrimSpace(sha)
	if !isSHA(sha) {
		return resolver.Result{}, fmt.Errorf("github: %s: the API answered %s, not a commit id", op, redact.Quote(sha))
	}
	return resolver.Result{SHA: sha, Version: version, Revision: resolver.Revision(name, sha)}, nil
}

// defaultBranch returns the repository's default branch.
func (r *Resolver) defaultBranch(ctx context.Context, src tracking.Source) (string, error) {
	op := src.Owner() + "/" + src.Repo() + " default branch"
	var repo *gogithub.Repository
	notModified, err := r.call(ctx, op, func(c *gogithub.Client) (*gogithub.Response, error) {
		rp, resp, err := c.Repositories.Get(ctx, src.Owner(), src.Repo())
		repo = rp
		return resp, err
	})
	if err != nil {
		return "", err
	}
	if notModified || repo == nil {
		return "", fmt.Errorf("github: %s: the API sent no repository", op)
	}
	branch := repo.GetDefaultBranch()
	if branch == "" {
		return "", fmt.Errorf("github: %s: the repository has no default branch: %w", op, resolver.ErrNotFound)
	}
	if err := tracking.ValidateRefName(branch); err != nil {
		return "", fmt.Errorf("github: %s: the API named default branch %s, which is not a valid branch name", op, redact.Quote(branch))
	}
	return branch, nil
}

// resolveTags lists every tag and selects the one req.Ref follows.
func (r *Resolver) resolveTags(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	known := req.Known
	etag := ""
	if isSHA(known.SHA) && known.Version != "" && validETag(known.Validator) {
		etag = known.Validator
	}
	owner, repo := req.Source.Owner(), req.Source.Repo()
	op := describe(req)

	var names []string
	shaOf := make(map[string]string)
	validator := ""
	for page, n := 1, 0; ; n++ {
		if n == maxPages {
			return resolver.Result{}, fmt.Errorf("github: %s: more than %d tags; refusing to page further", op, maxPages*perPage)
		}
		ifNoneMatch := ""
		if page == 1 {
			ifNoneMatch = etag
		}
		var tags []*gogithub.RepositoryTag
		var resp *gogithub.Response
		notModified, err := r.call(ctx, op, func(c *gogithub.Client) (*gogithub.Response, error) {
			var err error
			tags, resp, err = listTags(ctx, c, owner, repo, page, ifNoneMatch)
			return resp, err
		})
		if err != nil {
			return resolver.Result{}, err
		}
		if notModified {
			return unchanged(op, ifNoneMatch, known, known.Version)
		}
		for _, t := range tags {
			name := t.GetName()
			if name == "" {
				continue
			}
			if _, seen := shaOf[name]; !seen {
				names = append(names, name)
			}
			shaOf[name] = t.GetCommit().GetSHA()
		}
		// One partly filled page is the whole list, so its ETag covers
		// every tag: adding, deleting or moving one changes the page.
		if page == 1 && resp.NextPage == 0 && len(tags) < perPage {
			if v := resp.Header.Get("ETag"); validETag(v) {
				validator = v
			}
		}
		if resp.NextPage == 0 {
			break
		}
		if resp.NextPage <= page {
			return resolver.Result{}, fmt.Errorf("github: %s: the API paginated from page %d back to page %d", op, page, resp.NextPage)
		}
		page = resp.NextPage
	}

	name, err := tagselect.Select(req.Ref, names)
	if errors.Is(err, tagselect.ErrNoMatch) {
		return resolver.Result{}, fmt.Errorf("github: %s: no tag qualifies among %d: %w", op, len(names), resolver.ErrNotFound)
	}
	if err != nil {
		return resolver.Result{}, fmt.Errorf("github: %s: %w", op, err)
	}
	sha := shaOf[name]
	if !isSHA(sha) {
		return resolver.Result{}, fmt.Errorf("github: %s: the API listed tag %s with commit %s, not a commit id", op, redact.Quote(name), redact.Quote(sha))
	}
	return resolver.Result{SHA: sha, Version: name, Revision: resolver.Revision(name, sha), Validator: validator}, nil
}

// unchanged answers a 304 to a request sent with condition (the SHA or
// ETag of If-None-Match): Known, echoed, with its revision labelled name.
// A 304 to a request without a condition vouches for nothing.
func unchanged(op, condition string, known resolver.Known, name string) (resolver.Result, error) {
	if condition == "" {
		return resolver.Result{}, fmt.Errorf("github: %s: 304 Not Modified to an unconditional request", op)
	}
	return resolver.Result{
		SHA:       known.SHA,
		Version:   known.Version,
		Revision:  resolver.Revision(name, known.SHA),
		Unchanged: true,
		Validator: known.Validator,
	}, nil
}

// listTags fetches one page of tags. go-github sets extra headers only on
// requests the caller builds, so the conditional first page is built here:
// the request ListTags sends, plus If-None-Match.
func listTags(ctx context.Context, c *gogithub.Client, owner, repo string, page int, ifNoneMatch string) ([]*gogithub.RepositoryTag, *gogithub.Response, error) {
	opts := &gogithub.ListOptions{Page: page, PerPage: perPage}
	if ifNoneMatch == "" {
		return c.Repositories.ListTags(ctx, owner, repo, opts)
	}
	req, err := c.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/tags?page=%d&per_page=%d", owner, repo, page, perPage), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("If-None-Match", ifNoneMatch)
	var tags []*gogithub.RepositoryTag
	resp, err := c.Do(ctx, req, &tags)
	return tags, resp, err
}

// client returns a fresh go-github client. A fresh one per request keeps
// go-github's own rate-limit memory (kept with the wall clock) from ever
// refusing a request: the Resolver's hold, kept with Config.Now, is the
// only one.
func (r *Resolver) client() *gogithub.Client {
	c := gogithub.NewClient(r.httpClient)
	c.BaseURL = r.baseURL
	c.UserAgent = userAgent
	return c
}

// call sends one request through send, unless the host asked to wait, and
// classifies the outcome once: it reports a 304, and returns errors that
// match resolver.ErrRateLimited, resolver.ErrNotFound or the context's
// error, and otherwise describe the failure without exposing go-github's
// error types.
func (r *Resolver) call(ctx context.Context, op string, send func(*gogithub.Client) (*gogithub.Response, error)) (notModified bool, err error) {
	if lim := r.held(); lim != nil {
		return false, fmt.Errorf("github: %s: %w", op, lim)
	}
	resp, err := send(r.client())
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	if hr != nil && hr.Request != nil {
		r.log.DebugContext(ctx, "github: request", "method", hr.Request.Method, "path", redact.String(hr.Request.URL.Path), "status", hr.StatusCode)
	}
	if lim := r.observe(hr, err); lim != nil {
		r.log.WarnContext(ctx, "github: rate limited", "host", lim.Host, "retry_after", lim.RetryAfter, "status", hr.StatusCode)
		return false, fmt.Errorf("github: %s: %w", op, lim)
	}
	switch {
	case err == nil:
		return false, nil
	case hr != nil && hr.StatusCode == http.StatusNotModified:
		return true, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("github: %s: %w", op, ctx.Err())
	case hr == nil:
		// Transport failures: go-github strips client_secret from their
		// URL, redact anything else that looks like a credential.
		return false, fmt.Errorf("github: %s: %s", op, redact.String(err.Error()))
	case hr.StatusCode >= 200 && hr.StatusCode <= 299:
		return false, fmt.Errorf("github: %s: reading the answer: %s", op, redact.String(err.Error()))
	}
	msg := statusLine(hr, err)
	switch hr.StatusCode {
	case http.StatusNotFound, // no repository, or no access to it
		http.StatusConflict,            // "Git Repository is empty."
		http.StatusUnprocessableEntity: // "No commit found for SHA: <ref>"
		return false, fmt.Errorf("github: %s: %s: %w", op, msg, resolver.ErrNotFound)
	}
	return false, fmt.Errorf("github: %s: %s", op, msg)
}

// statusLine is "<status> (<GitHub's message>)".
func statusLine(hr *http.Response, err error) string {
	s := hr.Status
	if s == "" {
		s = fmt.Sprintf("%d %s", hr.StatusCode, http.StatusText(hr.StatusCode))
	}
	var er *gogithub.ErrorResponse
	if errors.As(err, &er) && er.Message != "" {
		s += " (" + redact.Quote(er.Message) + ")"
	}
	return s
}

// describe names a request in errors: "owner/repo branch:main".
func describe(req resolver.Request) string {
	return req.Source.Owner() + "/" + req.Source.Repo() + " " + req.Ref.String()
}

// checkRequest refuses what this resolver cannot answer before anything is
// sent: a source other than github://, one on another GitHub host (it is
// never sent to this one), a ref that is not tracked. Sources and refs are
// valid by construction and not re-validated.
func checkRequest(req resolver.Request, sourceHost string) error {
	if err := checkSource(req.Source, sourceHost); err != nil {
		return err
	}
	if !req.Ref.Tracked() {
		return fmt.Errorf("github: ref %s is not tracked, so there is nothing to resolve; track a tag, tag:latest, semver:, branch or head: %w", req.Ref, resolver.ErrUnsupported)
	}
	return nil
}

// checkSource refuses a source other than github:// and one on another
// GitHub host, which is never sent to this one.
func checkSource(src tracking.Source, sourceHost string) error {
	if src.Scheme() != tracking.SchemeGitHub {
		return fmt.Errorf("github: cannot resolve %s sources, only github://owner/repo: %w", redact.Quote(string(src.Scheme())), resolver.ErrUnsupported)
	}
	if host := src.Host(); host != "" && host != sourceHost {
		return fmt.Errorf("github: source %s is on GitHub host %q, but this resolver serves %q; configure another resolver with that host's API root as Config.BaseURL (e.g. https://%s/api/v3/): %w", src, host, sourceHost, host, resolver.ErrOtherHost)
	}
	return nil
}

// isSHA reports whether s is a full lowercase commit id (SHA-1 or SHA-256).
func isSHA(s string) bool { return tracking.ValidateSHA(s) == nil }

// validETag reports whether v can be sent back as If-None-Match: a short,
// printable, quoted value.
func validETag(v string) bool {
	if v == "" || len(v) > 256 || !strings.HasSuffix(v, `"`) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// validToken reports whether a token can be sent in a header: printable
// ASCII without spaces.
func validToken(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] <= 0x20 || t[i] > 0x7e {
			return false
		}
	}
	return true
}

// bearerTransport adds the configured Authorization header to requests for
// the API host only, so a redirect elsewhere never carries the token.
type bearerTransport struct {
	base   http.RoundTripper
	host   string
	header string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.URL.Host != t.host {
		return base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", t.header)
	return base.RoundTrip(req)
}
