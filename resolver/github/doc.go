// Package github resolves refs of github:// sources through the GitHub REST
// API (github.com and GitHub Enterprise Server hosts, side by side), using
// go-github v62. Build a [Resolver] with [New]; it implements
// [resolver.Resolver] and is safe for concurrent use.
//
// # Hosts
//
// Config.Hosts, a [resolver.GitHubHosts], lists the GitHub hosts served and
// where each one's API is; github://owner/repo is on the first (github.com
// by default), github://host/owner/repo on the host it names. Pass the same
// value to gitcli's Config.GitHubHosts, so the API and git read a host from
// one setting:
//
//	hosts, err := resolver.NewGitHubHosts(
//		resolver.DefaultGitHubHost,                   // github.com
//		resolver.GitHubHost{Name: "ghe.example.com"}, // API at https://ghe.example.com/api/v3/
//	)
//	r, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{
//		"github.com":      {Client: hostsOwnClient}, // the *gogithub.Client the host already has
//		"ghe.example.com": {App: app},               // a GitHub App installation, see NewApp
//	}})
//
// Each host has its own authentication (Config.Auth), its own requests and
// its own rate-limit state; nothing of one is sent to another.
//
// # Requests
//
// Each ref shape costs the following requests:
//
//   - branch:X and tag:X: one GET /repos/{owner}/{repo}/commits/{ref} with the
//     sha media type, for ref "heads/X" or "tags/X" (the forms GitHub
//     documents, so a branch and a tag of the same name never shadow each
//     other). GitHub peels annotated tags to their commit. When
//     [resolver.Known] holds the previous SHA it is sent as If-None-Match;
//     GitHub answers 304, which does not count against the rate limit, and
//     the result is Unchanged.
//   - head: GET /repos/{owner}/{repo} for default_branch, then the commit
//     request above on that branch. The repository's ETag and the branch it
//     named are kept in the validator, and the next lookup sends the ETag
//     as If-None-Match: a 304 means the default branch is unchanged. A
//     renamed default branch changes the repository, so it is followed at
//     once. Both requests are conditional, so an unchanged head costs no
//     rate limit.
//   - tag:latest and semver:: GET /repos/{owner}/{repo}/tags, 100 per page,
//     following every page. The listed commit SHAs are already peeled. The
//     selection is the same as every other resolver's (highest stable semver
//     tag, or highest tag satisfying the constraint). Every page's ETag is
//     kept in [resolver.Result].Validator (in order, up to 20 pages, 2,000
//     tags; a longer list is fetched in full every time), and the next
//     resolution asks for each page with its own ETag as If-None-Match.
//     When every page answers 304 the list, and so the selection, did not
//     change, and nothing counted against the rate limit. A list whose last
//     page is full also keeps the ETag of the empty page after it, so that
//     a tag added past the end is seen. The first page that changed ends
//     the conditional pass: the pages before it are read again and the
//     rest as usual.
//   - force-push detection ([Resolver.NotAncestors], asked by the sweeper
//     only when a branch or head moved): one GET
//     /repos/{owner}/{repo}/compare/{installed}...{tip} per distinct
//     installed commit, on the source's host with its Auth; status
//     "diverged" or "behind" means the branch was rewritten under it.
//
// So a sweep in which nothing moved costs no rate limit for any ref kind;
// BENCHMARKS.md has the counts.
//
// # Errors
//
// A missing repository (404), an unknown ref (GitHub answers 422 "No commit
// found for SHA"), an empty repository (409) and a tag list with no
// qualifying tag all match [resolver.ErrNotFound]. A 401, a 403 that is not
// a rate limit, and an App whose installation token could not be minted
// match [resolver.ErrUnauthorized]. (GitHub answers 404, not 401, for a
// private repository asked without credentials.) Other failures (5xx, a
// broken connection) are described in the error without a sentinel;
// go-github's error types are never part of the chain. No request is
// retried.
//
// Sources and refs are valid by construction (made only by tracking's
// parsers and constructors), so they are not re-validated. Before anything
// is sent, sources other than github:// and refs that are not tracked
// (none, sha:) return [resolver.ErrUnsupported], and a source naming a
// GitHub host not in Config.Hosts returns [resolver.ErrOtherHost]: it is
// never sent to another host.
//
// # Rate limits
//
// A primary limit (403 with X-RateLimit-Remaining: 0), a secondary limit
// (403 naming the secondary rate limits, usually with Retry-After) and 429
// Too Many Requests all return a [*resolver.RateLimitError] for the API host,
// matching [resolver.ErrRateLimited]. Its RetryAfter comes from Retry-After
// or else X-RateLimit-Reset minus Config.Now, at least one second and at
// most a day; without either header it is one minute, as GitHub's
// documentation advises.
//
// The Resolver then remembers the instant the host asked it to wait until,
// as it does when a successful response reports X-RateLimit-Remaining: 0,
// and until Config.Now passes that instant every Resolve returns a
// RateLimitError at once without sending anything. go-github keeps similar
// state of its own, measured with the wall clock; to keep this behaviour
// tied to the injected clock alone, each request goes through a fresh
// go-github client, so that state never carries over.
//
// # Credentials
//
// Authentication is the host application's, per GitHub host
// (Config.Auth): its own *gogithub.Client (Auth.Client: its HTTP client,
// and so its authentication, carries the requests), an [http.Client] whose
// transport authenticates (Auth.HTTPClient), a token (Auth.Token, sent as
// a bearer token), or a GitHub App installation (Auth.App, made with
// [NewApp] through github.com/bradleyfalzon/ghinstallation/v2, its
// installation tokens refreshed before they expire). The same [App] is
// gitcli's Config.Credentials for git over https, so one installation
// reaches private repositories both ways. Tokens are sent only to the
// host's API, never logged and never part of an error.
//
// # Signed objects
//
// [Resolver.ReadObjects] hands a signature check (package
// resolver/signature) the commit of a resolution and, for tag refs, its
// annotated tag: git/commits for a branch or head (1 request), plus
// git/ref and, for an annotated tag, git/tags (2 or 3). GitHub answers with
// a payload and a signature; the objects are rebuilt from them exactly as
// git stores them and refused unless they hash to the ids asked for, so
// what is judged is the commit the sweep resolved. An unsigned object,
// for which GitHub gives no payload, is handed over as nil. GitHub's own
// verdicts come along as resolver.HostVerdict "github", which a trust
// rule may accept (signature.Rule.TrustHost).
package github
