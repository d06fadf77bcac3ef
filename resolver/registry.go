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
// copied.
func NewRegistry(byScheme map[tracking.SourceScheme]Resolver) *Registry {
	m := make(map[tracking.SourceScheme]Resolver, len(byScheme))
	for k, v := range byScheme {
		if v != nil {
			m[k] = v
		}
	}
	return &Registry{byScheme: m}
}

// Resolve implements Resolver. A scheme with no resolver returns
// ErrUnsupported.
func (r *Registry) Resolve(ctx context.Context, req Request) (Result, error) {
	res, ok := r.byScheme[req.Source.Scheme()]
	if !ok {
		return Result{}, fmt.Errorf("resolver: no resolver for %s sources (%s): %w", redact.Quote(string(req.Source.Scheme())), redact.Quote(req.Source.String()), ErrUnsupported)
	}
	return res.Resolve(ctx, req)
}
