package resolver

import (
	"context"
	"fmt"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// Registry routes a request to the Resolver registered for its source's
// scheme. It is itself a Resolver. Build it with NewRegistry; it is not
// changed after construction, so it is safe for concurrent use.
type Registry struct {
	byScheme map[tracking.SourceScheme]Resolver
}

var _ Resolver = (*Registry)(nil)

// NewRegistry returns a Registry. byScheme maps a source scheme
// (tracking.SchemeGitHub, tracking.SchemeGit) to its resolver; the map is
// copied, and a scheme left out has no resolver. A nil resolver, or a
// scheme without an upstream (tracking.SchemeLocal, an unknown one),
// returns an error wrapping tracking.ErrInvalidArgument.
func NewRegistry(byScheme map[tracking.SourceScheme]Resolver) (*Registry, error) {
	m := make(map[tracking.SourceScheme]Resolver, len(byScheme))
	for scheme, res := range byScheme {
		if !scheme.HasUpstream() {
			return nil, fmt.Errorf("resolver: NewRegistry: scheme %s has no upstream to resolve; map tracking.SchemeGitHub or tracking.SchemeGit: %w", redact.Quote(string(scheme)), tracking.ErrInvalidArgument)
		}
		if res == nil {
			return nil, fmt.Errorf("resolver: NewRegistry: the resolver for %s is nil; leave the scheme out to have no resolver for it: %w", redact.Quote(string(scheme)), tracking.ErrInvalidArgument)
		}
		m[scheme] = res
	}
	return &Registry{byScheme: m}, nil
}

// Resolve implements Resolver. A scheme with no resolver returns
// ErrUnsupported.
func (r *Registry) Resolve(ctx context.Context, req Request) (Result, error) {
	res, err := route[Resolver](r, req.Source, "resolver")
	if err != nil {
		return Result{}, err
	}
	return res.Resolve(ctx, req)
}

// route returns the resolver registered for source's scheme as a T (the
// Resolver itself or one of its optional interfaces), or an error matching
// ErrUnsupported that names what is missing when there is none or it does
// not implement T.
func route[T any](r *Registry, source tracking.Source, what string) (T, error) {
	res, ok := r.byScheme[source.Scheme()].(T)
	if !ok {
		var none T
		return none, fmt.Errorf("resolver: no %s for %s sources (%s): %w", what, redact.Quote(string(source.Scheme())), redact.Quote(source.String()), ErrUnsupported)
	}
	return res, nil
}
