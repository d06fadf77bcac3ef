// Package resolver defines how plugindrift learns what an upstream ref
// points at: the [Resolver] contract, its [Request] and [Result], the
// sentinel errors implementations return, a [Registry] that routes by source
// scheme, and the optional [Fetcher] contract for materialising one
// commit.
//
// Implementations live in subpackages named after what they wrap: gitcli
// (the git command line) and github (the GitHub REST API). Both pass the
// conformance suite in package resolvertest.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// Resolver resolves a tracked ref of a source to a commit.
type Resolver interface {
	// Resolve must return the full, peeled commit SHA (never an annotated
	// tag object's own id) that req.Ref selects in req.Source.
	//
	// When req.Known is set and the implementation can tell cheaply that
	// nothing moved (a conditional request answered 304), it may return a
	// Result with Unchanged = true and SHA, Version and Validator equal to
	// req.Known's.
	//
	// It must return an error matching ErrNotFound when the repository or
	// the ref does not exist (for tag:latest and semver:, when no tag
	// qualifies), ErrRateLimited (as a *RateLimitError) when the upstream
	// asks to wait, ErrUnauthorized when the upstream refuses the
	// credentials (or their absence), ErrUnsupported for a source or ref it cannot resolve
	// (a source without upstream, a ref that is not tracked), and
	// ErrOtherHost for a source on a host it is not configured for; in
	// those cases nothing is executed or sent.
	//
	// req.Source and req.Ref are valid by construction (the portable type
	// guarantees this: tracking.Source and tracking.Ref are made only by
	// tracking's parsers and constructors), so implementations do not
	// re-parse or re-validate them.
	Resolve(ctx context.Context, req Request) (Result, error)
}

// Request asks for the current commit of Ref in Source.
type Request struct {
	Source tracking.Source
	Ref    tracking.Ref
	// Known is the last result for the same (Source, Ref), if any, for a
	// conditional request.
	Known Known
}

// Known is what a previous resolution returned.
type Known struct {
	SHA       string
	Version   string
	Validator string
}

// Result is one resolution.
type Result struct {
	// SHA is the full commit id (lowercase hex), peeled.
	SHA string
	// Version is the tag name exactly as written when the ref selected a tag
	// (tag:, tag:latest, semver:); empty for branches and head.
	Version string
	// Revision is a human-readable "name@sha1:<sha>": "v1.2.3@sha1:…",
	// "main@sha1:…".
	Revision string
	// Unchanged reports that a conditional request said nothing moved since
	// Request.Known.
	Unchanged bool
	// Validator is an opaque value to pass back as Known.Validator next time.
	Validator string
}

// Sentinel errors.
var (
	// ErrNotFound: repository or ref does not exist. It matches
	// tracking.ErrNotFound too.
	ErrNotFound = fmt.Errorf("resolver: %w", tracking.ErrNotFound)
	// ErrRateLimited: the upstream asked to wait; see RateLimitError.
	ErrRateLimited = errors.New("resolver: rate limited")
	// ErrUnsupported: this resolver cannot handle the source or ref.
	ErrUnsupported = errors.New("resolver: unsupported")
	// ErrOtherHost: the source names a host (a GitHub Enterprise host in
	// github://host/owner/repo) that this resolver is not configured for;
	// it is refused rather than sent to the configured host. It matches
	// ErrUnsupported too.
	ErrOtherHost = fmt.Errorf("resolver: source on a host this resolver is not configured for: %w", ErrUnsupported)
	// ErrUnauthorized: the upstream refused the credentials it was sent,
	// or asked for credentials and none were configured (HTTP 401 or 403
	// that is not a rate limit, ssh's "Permission denied (publickey)", a
	// host key that does not match the known hosts). It is distinct from
	// ErrNotFound: the fix is in the resolver's credentials, not in the
	// source.
	ErrUnauthorized = errors.New("resolver: upstream refused the credentials")
)

// RateLimitError is returned when an upstream refuses for a while. It
// matches ErrRateLimited.
//
// A resolver that returns it holds the host back itself: until RetryAfter
// has passed it answers every request for that host with a RateLimitError
// at once, calling nothing. That is the one place the hold lives; the
// Sweeper only defers upstreams whose resolution was refused this way.
type RateLimitError struct {
	// Host is the upstream host that asked to wait.
	Host string
	// RetryAfter is how long to wait before the next call to Host.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("resolver: rate limited by %s: retry after %s", e.Host, e.RetryAfter)
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Revision formats the human-readable revision of a result.
func Revision(name, sha string) string {
	if len(sha) == 64 {
		return name + "@sha256:" + sha
	}
	return name + "@sha1:" + sha
}

// Fetcher materialises the files of one exact commit.
type Fetcher interface {
	// Fetch must write the tree of commit sha of source into dir (which
	// must not exist yet or be empty), without any .git directory. On error
	// it must leave nothing behind in dir.
	Fetch(ctx context.Context, source tracking.Source, sha, dir string) error
}
