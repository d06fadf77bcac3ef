// Package github resolves refs of github:// sources through the GitHub REST
// API (github.com or GitHub Enterprise Server), using go-github v62. Build a
// [Resolver] with [New]; it implements [resolver.Resolver] and is safe for
// concurrent use.
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
//     request above on that branch. The default branch is looked up every
//     time rather than cached in the validator, so a renamed default branch is
//     followed at once; the second request is still conditional.
//   - tag:latest and semver:: GET /repos/{owner}/{repo}/tags, 100 per page,
//     following every page. The listed commit SHAs are already peeled. The
//     selection is the same as every other resolver's (highest stable semver
//     tag, or highest tag satisfying the constraint). When the whole list fits
//     in one partly filled page, the page's ETag becomes
//     [resolver.Result].Validator and the next resolution sends it as
//     If-None-Match; a 304 means the tag list, and so the selection, did not
//     change. Longer lists are fetched in full every time, because the ETag
//     of one page says nothing about the others.
//   - force-push detection ([Resolver.NotAncestors], asked by the sweeper
//     only when a branch or head moved): one GET
//     /repos/{owner}/{repo}/compare/{installed}...{tip} per distinct
//     installed commit; status "diverged" or "behind" means the branch was
//     rewritten under it.
//
// # Errors
//
// A missing repository (404), an unknown ref (GitHub answers 422 "No commit
// found for SHA"), an empty repository (409) and a tag list with no
// qualifying tag all match [resolver.ErrNotFound]. Other failures (5xx, 401,
// a broken connection) are described in the error without a sentinel;
// go-github's error types are never part of the chain. No request is
// retried.
//
// Sources and refs are valid by construction (made only by tracking's
// parsers and constructors), so they are not re-validated. Before anything
// is sent, sources other than github:// and refs that are not tracked
// (none, sha:) return [resolver.ErrUnsupported], and a source naming a
// GitHub host other than the one Config.BaseURL serves (github.com for
// api.github.com, the API root's host for Enterprise) returns
// [resolver.ErrOtherHost]: it is never sent to this host. Route such
// sources to a resolver configured with their host's API root.
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
// Authentication is the host's: pass an [http.Client] whose transport
// authenticates (oauth2, a GitHub App installation transport), or set
// Config.Token. The token is sent only to the API host, never logged and
// never part of an error.
package github
