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

	"github.com/plugindrift/plugindrift/internal/authheader"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

const (
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
	// Hosts lists the GitHub hosts this resolver serves and where their
	// REST APIs are (GitHubHost.APIBaseURL): github.com and GitHub
	// Enterprise Server hosts side by side. Pass the same value as
	// gitcli's Config.GitHubHosts, so both read a host from one setting. A
	// source on a host not listed returns resolver.ErrOtherHost. Defaults
	// to github.com alone.
	Hosts resolver.GitHubHosts
	// Auth says how to authenticate on each host, by GitHubHost.Name
	// ("github.com", "ghe.example.com"). A host without an entry is
	// called with http.DefaultClient, without credentials. A name that is
	// not in Hosts is refused.
	Auth map[string]Auth
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

// Auth is how the resolver authenticates on one GitHub host. Set at most
// one of Client, HTTPClient and App; Token may be added to Client or
// HTTPClient, or stand alone. The zero Auth sends no credentials.
type Auth struct {
	// Client is the host application's own go-github client: the
	// resolver sends its requests through Client.Client(), the
	// *http.Client it was built with, so whatever authenticates it
	// (oauth2, WithAuthToken, an App transport) authenticates these too.
	// Its BaseURL is not used: Config.Hosts says where the API is.
	Client *gogithub.Client
	// HTTPClient sends the requests; its transport authenticates.
	HTTPClient *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>" on every
	// request to the host's API (and to no other host). It is never logged
	// and never part of an error.
	Token string
	// App authenticates as a GitHub App installation (see [NewApp]).
	App *App
}

// String describes the configuration with every credential redacted, so
// that printing a Config never shows one.
func (c Config) String() string {
	var hosts []string
	for _, h := range c.Hosts.All() {
		hosts = append(hosts, fmt.Sprintf("%s: %s%s", h.Name, strconv.Quote(redact.String(h.APIBaseURL)), c.Auth[h.Name].describe()))
	}
	return fmt.Sprintf("github.Config{Hosts: [%s], Timeout: %s}", strings.Join(hosts, ", "), c.Timeout)
}

// describe names the kinds of authentication set, never a credential.
func (a Auth) describe() string {
	var kinds []string
	if a.Client != nil {
		kinds = append(kinds, "Client")
	}
	if a.HTTPClient != nil {
		kinds = append(kinds, "HTTPClient")
	}
	if a.Token != "" {
		kinds = append(kinds, "Token REDACTED")
	}
	if a.App != nil {
		kinds = append(kinds, "App")
	}
	if len(kinds) == 0 {
		return ""
	}
	return " (" + strings.Join(kinds, ", ") + ")"
}

// Resolver resolves refs of github:// sources through the GitHub REST API.
// Build it with New. It is safe for concurrent use; concurrent calls for
// one host share that host's rate-limit state, and hosts never share
// theirs.
type Resolver struct {
	hosts     resolver.GitHubHosts
	endpoints map[string]*endpoint // by GitHubHost.Name
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger
}

// endpoint is one host's API: where it is, how requests reach it, and how
// long it asked not to be called.
type endpoint struct {
	httpClient *http.Client
	baseURL    *url.URL
	// apiHost is the API's host (with port), as rate-limit errors name it.
	apiHost string

	mu sync.Mutex
	// holdUntil is the instant before which the host asked not to be called.
	holdUntil time.Time
}

var _ resolver.Resolver = (*Resolver)(nil)

// New returns a Resolver configured by cfg; nil means defaults. It returns
// an error wrapping tracking.ErrInvalidArgument for a negative Timeout, an
// Auth entry for a host not in Hosts or with more than one of Client,
// HTTPClient and App (or Token with App), or a Token that cannot be sent
// in an HTTP header.
func New(cfg *Config) (*Resolver, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("github: Config.Timeout is negative (%s); use 0 for the default of %s: %w", cfg.Timeout, DefaultTimeout, tracking.ErrInvalidArgument)
	}
	r := &Resolver{
		hosts:     cfg.Hosts,
		endpoints: map[string]*endpoint{},
		timeout:   cfg.Timeout,
		now:       cfg.Now,
		log:       cfg.Logger,
	}
	for _, h := range cfg.Hosts.All() {
		ep, err := newEndpoint(h, cfg.Auth[h.Name])
		if err != nil {
			return nil, err
		}
		r.endpoints[h.Name] = ep
	}
	for name := range cfg.Auth {
		if r.endpoints[name] == nil {
			return nil, fmt.Errorf("github: Config.Auth names host %s, which is not in Config.Hosts; list it there (resolver.NewGitHubHosts) or use its name as written there: %w", redact.Quote(name), tracking.ErrInvalidArgument)
		}
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

// newEndpoint builds the client of one host from its Auth.
func newEndpoint(h resolver.GitHubHost, auth Auth) (*endpoint, error) {
	base, err := url.Parse(h.APIBaseURL) // valid: resolver.NewGitHubHosts checked it
	if err != nil {
		return nil, fmt.Errorf("github: host %s: APIBaseURL: %w", h.Name, tracking.ErrInvalidArgument)
	}
	set := 0
	for _, isSet := range []bool{auth.Client != nil, auth.HTTPClient != nil, auth.App != nil} {
		if isSet {
			set++
		}
	}
	if set > 1 || (auth.App != nil && auth.Token != "") {
		return nil, fmt.Errorf("github: Config.Auth[%q] sets %s; set one of Client, HTTPClient and App (Token may go with Client or HTTPClient): %w", h.Name, strings.TrimSpace(auth.describe()), tracking.ErrInvalidArgument)
	}
	hc := http.DefaultClient
	switch {
	case auth.Client != nil:
		hc = auth.Client.Client()
	case auth.HTTPClient != nil:
		hc = auth.HTTPClient
	case auth.App != nil:
		if auth.App.apiHost != base.Host {
			return nil, fmt.Errorf("github: Config.Auth[%q].App was made for the API at %s, not this host's %s; make it with NewApp for this host: %w", h.Name, auth.App.apiHost, base.Host, tracking.ErrInvalidArgument)
		}
		hc = auth.App.HTTPClient()
	}
	if auth.Token != "" {
		if !authheader.Safe(auth.Token) {
			// The token itself is not quoted: it is a credential.
			return nil, fmt.Errorf("github: Config.Auth[%q].Token contains spaces or characters not allowed in an HTTP header; pass the token exactly as issued: %w", h.Name, tracking.ErrInvalidArgument)
		}
		withToken := *hc
		token := auth.Token
		withToken.Transport = &authTransport{base: hc.Transport, host: base.Host, header: func(*http.Request) (string, error) { return "Bearer " + token, nil }}
		hc = &withToken
	}
	return &endpoint{httpClient: hc, baseURL: base, apiHost: base.Host}, nil
}

// Resolve implements resolver.Resolver for github:// sources; see the
// package documentation for the requests each ref shape costs and how
// errors and rate limits are reported.
func (r *Resolver) Resolve(ctx context.Context, req resolver.Request) (resolver.Result, error) {
	ep, err := r.checkRequest(req)
	if err != nil {
		return resolver.Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	switch req.Ref.Kind() {
	case tracking.RefBranch:
		return r.resolveCommit(ctx, ep, req, "heads/"+req.Ref.Name(), req.Ref.Name(), "")
	case tracking.RefTag:
		return r.resolveCommit(ctx, ep, req, "tags/"+req.Ref.Name(), req.Ref.Name(), req.Ref.Name())
	case tracking.RefHead:
		branch, validator, err := r.defaultBranch(ctx, ep, req)
		if err != nil {
			return resolver.Result{}, err
		}
		res, err := r.resolveCommit(ctx, ep, req, "heads/"+branch, branch, "")
		if err != nil {
			return resolver.Result{}, err
		}
		// Unchanged echoes Known, validator included; a new repository
		// ETag with the same commit is a result, not an echo.
		res.Unchanged = res.Unchanged && validator == req.Known.Validator
		res.Validator = validator
		return res, nil
	default: // RefLatest, RefSemver: checkRequest admits nothing else.
		return r.resolveTags(ctx, ep, req)
	}
}

// resolveCommit asks for the commit apiRef ("heads/X", "tags/X") points at,
// conditionally on the known SHA. name is the branch or tag the revision is
// labelled with; version is the Result.Version the ref yields.
func (r *Resolver) resolveCommit(ctx context.Context, ep *endpoint, req resolver.Request, apiRef, name, version string) (resolver.Result, error) {
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
	notModified, err := r.call(ctx, ep, op, func(c *gogithub.Client) (*gogithub.Response, error) {
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

// defaultBranch returns the repository's default branch and the validator
// of a head resolution that names it. With the validator of the last head
// resolution the lookup is conditional on the repository's ETag: a 304
// costs no rate limit and means the default branch is the one the
// validator names.
func (r *Resolver) defaultBranch(ctx context.Context, ep *endpoint, req resolver.Request) (branch, validator string, err error) {
	src := req.Source
	op := src.Owner() + "/" + src.Repo() + " default branch"
	knownBranch, etag, ok := decodeHead(req.Known.Validator)
	if !ok {
		etag = ""
	}
	var repo *gogithub.Repository
	var resp *gogithub.Response
	notModified, err := r.call(ctx, ep, op, func(c *gogithub.Client) (*gogithub.Response, error) {
		hreq, err := c.NewRequest(http.MethodGet, "repos/"+src.Owner()+"/"+src.Repo(), nil)
		if err != nil {
			return nil, err
		}
		if etag != "" {
			hreq.Header.Set("If-None-Match", etag)
		}
		repo = new(gogithub.Repository)
		resp, err = c.Do(ctx, hreq, repo)
		return resp, err
	})
	if err != nil {
		return "", "", err
	}
	if notModified {
		if etag == "" {
			return "", "", fmt.Errorf("github: %s: 304 Not Modified to an unconditional request", op)
		}
		return knownBranch, req.Known.Validator, nil
	}
	branch = repo.GetDefaultBranch()
	if branch == "" {
		return "", "", fmt.Errorf("github: %s: the repository has no default branch: %w", op, resolver.ErrNotFound)
	}
	if err := tracking.ValidateRefName(branch); err != nil {
		return "", "", fmt.Errorf("github: %s: the API named default branch %s, which is not a valid branch name", op, redact.Quote(branch))
	}
	return branch, encodeHead(branch, resp.Header.Get("ETag")), nil
}

// resolveTags lists every tag and selects the one req.Ref follows. With a
// tag-list validator from the last resolution every page is asked for
// conditionally, each with its own ETag; when every page answers 304 the
// list, and so the selection, did not change, and nothing counted against
// the rate limit. The first page that did change ends the conditional
// pass, and the list is read in full from the pages that answered 304
// (asked again without a condition) and the rest.
func (r *Resolver) resolveTags(ctx context.Context, ep *endpoint, req resolver.Request) (resolver.Result, error) {
	known := req.Known
	var etags []string
	if isSHA(known.SHA) && known.Version != "" {
		etags = decodeTags(known.Validator)
	}
	owner, repo := req.Source.Owner(), req.Source.Repo()
	op := describe(req)

	var pages []tagPage
	for i, etag := range etags {
		p, notModified, err := r.tagPage(ctx, ep, op, owner, repo, i+1, etag)
		if err != nil {
			return resolver.Result{}, err
		}
		if !notModified {
			pages = append(pages, p)
			break
		}
		if i == len(etags)-1 {
			return unchanged(op, etag, known, known.Version)
		}
	}
	// pages holds the first changed page, if any; read the ones before it
	// again, then everything after it.
	if len(pages) == 1 {
		changed := pages[0]
		pages = pages[:0]
		for page := 1; page < changed.page; page++ {
			p, _, err := r.tagPage(ctx, ep, op, owner, repo, page, "")
			if err != nil {
				return resolver.Result{}, err
			}
			pages = append(pages, p)
		}
		pages = append(pages, changed)
	}
	next := 1
	if len(pages) > 0 {
		next = pages[len(pages)-1].next
	}
	for next != 0 {
		if len(pages) == maxPages {
			return resolver.Result{}, fmt.Errorf("github: %s: more than %d tags; refusing to page further", op, maxPages*perPage)
		}
		if len(pages) > 0 && next <= pages[len(pages)-1].page {
			return resolver.Result{}, fmt.Errorf("github: %s: the API paginated from page %d back to page %d", op, pages[len(pages)-1].page, next)
		}
		p, _, err := r.tagPage(ctx, ep, op, owner, repo, next, "")
		if err != nil {
			return resolver.Result{}, err
		}
		pages = append(pages, p)
		next = p.next
		if next == 0 && len(p.tags) == perPage && len(pages) < maxValidatorPages {
			// A full last page: a tag added after it would go to a page
			// no ETag covers, so the empty page after it is asked for
			// too, and its ETag kept.
			p, _, err := r.tagPage(ctx, ep, op, owner, repo, p.page+1, "")
			if err != nil {
				return resolver.Result{}, err
			}
			if len(p.tags) > 0 || p.next != 0 {
				return resolver.Result{}, fmt.Errorf("github: %s: the API listed tags on page %d past its last page", op, p.page)
			}
			pages = append(pages, p)
		}
	}

	var names []string
	shaOf := make(map[string]string)
	etags = etags[:0]
	for _, p := range pages {
		etags = append(etags, p.etag)
		for _, t := range p.tags {
			name := t.GetName()
			if name == "" {
				continue
			}
			if _, seen := shaOf[name]; !seen {
				names = append(names, name)
			}
			shaOf[name] = t.GetCommit().GetSHA()
		}
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
	return resolver.Result{SHA: sha, Version: name, Revision: resolver.Revision(name, sha), Validator: encodeTags(etags)}, nil
}

// tagPage is one page of a tag listing.
type tagPage struct {
	page int
	tags []*gogithub.RepositoryTag
	// etag is the page's ETag, "" when it had none.
	etag string
	// next is the next page, 0 after the last.
	next int
}

// tagPage fetches one page of tags, conditionally when ifNoneMatch is
// set; notModified reports a 304.
func (r *Resolver) tagPage(ctx context.Context, ep *endpoint, op, owner, repo string, page int, ifNoneMatch string) (tagPage, bool, error) {
	p := tagPage{page: page}
	var resp *gogithub.Response
	notModified, err := r.call(ctx, ep, op, func(c *gogithub.Client) (*gogithub.Response, error) {
		var err error
		p.tags, resp, err = listTags(ctx, c, owner, repo, page, ifNoneMatch)
		return resp, err
	})
	if err != nil || notModified {
		return p, notModified, err
	}
	p.next = resp.NextPage
	if v := resp.Header.Get("ETag"); validETag(v) {
		p.etag = v
	}
	return p, false, nil
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

// client returns a fresh go-github client for the host. A fresh one per
// request keeps go-github's own rate-limit memory (kept with the wall
// clock) from ever refusing a request: the Resolver's hold, kept with
// Config.Now, is the only one.
func (e *endpoint) client() *gogithub.Client {
	c := gogithub.NewClient(e.httpClient)
	c.BaseURL = e.baseURL
	c.UserAgent = userAgent
	return c
}

// call sends one request through send, unless the host asked to wait, and
// classifies the outcome once: it reports a 304, and returns errors that
// match resolver.ErrRateLimited, resolver.ErrNotFound or the context's
// error, and otherwise describe the failure without exposing go-github's
// error types.
func (r *Resolver) call(ctx context.Context, ep *endpoint, op string, send func(*gogithub.Client) (*gogithub.Response, error)) (notModified bool, err error) {
	if lim := ep.held(r.now()); lim != nil {
		return false, fmt.Errorf("github: %s: %w", op, lim)
	}
	resp, err := send(ep.client())
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	if hr != nil && hr.Request != nil {
		r.log.DebugContext(ctx, "github: request", "method", hr.Request.Method, "path", redact.String(hr.Request.URL.Path), "status", hr.StatusCode)
	}
	if lim := ep.observe(r.now(), hr, err); lim != nil {
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
	case hr == nil && errors.Is(err, resolver.ErrUnauthorized):
		// An App that could not mint a token: its own message says what
		// to check.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, fmt.Errorf("github: %s: %w", op, err)
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
	case http.StatusUnauthorized, http.StatusForbidden: // a 403 rate limit was taken above
		return false, fmt.Errorf("github: %s: %s: the API refused the credentials of this host; check Config.Auth (a token that is current, an App installed on the repository): %w", op, msg, resolver.ErrUnauthorized)
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
// sent: a source that endpointOf refuses, a ref that is not tracked. It
// returns the endpoint of the source's host. Sources and refs are valid by
// construction and not re-validated.
func (r *Resolver) checkRequest(req resolver.Request) (*endpoint, error) {
	ep, err := r.endpointOf(req.Source)
	if err != nil {
		return nil, err
	}
	if !req.Ref.Tracked() {
		return nil, fmt.Errorf("github: ref %s is not tracked, so there is nothing to resolve; track a tag, tag:latest, semver:, branch or head: %w", req.Ref, resolver.ErrUnsupported)
	}
	return ep, nil
}

// endpointOf returns the endpoint of src's host, refusing a source other
// than github:// and one on a GitHub host not in Config.Hosts (it is never
// sent to another host).
func (r *Resolver) endpointOf(src tracking.Source) (*endpoint, error) {
	if src.Scheme() != tracking.SchemeGitHub {
		return nil, fmt.Errorf("github: cannot resolve %s sources, only github://owner/repo: %w", redact.Quote(string(src.Scheme())), resolver.ErrUnsupported)
	}
	host, ok := r.hosts.Lookup(src)
	if !ok {
		var names []string
		for _, h := range r.hosts.All() {
			names = append(names, h.Name)
		}
		return nil, fmt.Errorf("github: source %s is on GitHub host %q, but this resolver serves %s; add the host to Config.Hosts (resolver.NewGitHubHosts, API root e.g. %s): %w", src, host.Name, strings.Join(names, ", "), host.APIBaseURL, resolver.ErrOtherHost)
	}
	return r.endpoints[host.Name], nil
}

// isSHA reports whether s is a full lowercase commit id (SHA-1 or SHA-256).
func isSHA(s string) bool { return tracking.ValidateSHA(s) == nil }

// authTransport adds an Authorization header to requests for the API host
// only, so a redirect elsewhere never carries the credential. header
// returns the header's value (a fixed token, a fresh installation token).
type authTransport struct {
	base   http.RoundTripper
	host   string
	header func(*http.Request) (string, error)
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if req.URL.Host != t.host {
		return base.RoundTrip(req)
	}
	value, err := t.header(req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", value)
	return base.RoundTrip(req)
}
