package resolver

import (
	"context"

	"github.com/plugindrift/plugindrift/tracking"
)

// AncestryChecker is implemented by resolvers that can tell whether a
// branch was force-pushed away from installed commits. It is optional: the
// Sweeper asks only resolvers that implement it, and only when a branch or
// head moved, so an unchanged sweep costs nothing extra.
type AncestryChecker interface {
	// NotAncestors returns those of shas that tip does not descend from
	// (a commit counts as its own ancestor), in the order given: the
	// installed commits a force-push left behind. A commit the upstream
	// does not know at all is not an ancestor. tip is the commit the
	// source's branch resolved to; shas and tip are full commit ids.
	//
	// It must return an error matching ErrUnsupported when it cannot
	// check this source (or is not configured to), ErrRateLimited (as a
	// *RateLimitError) when the upstream asks to wait, and ErrNotFound
	// when tip itself is unknown.
	NotAncestors(ctx context.Context, source tracking.Source, tip string, shas []string) ([]string, error)
}

var _ AncestryChecker = (*Registry)(nil)

// NotAncestors implements AncestryChecker by routing to the resolver of
// the source's scheme; a scheme with no resolver, or one whose resolver
// does not implement AncestryChecker, returns ErrUnsupported.
func (r *Registry) NotAncestors(ctx context.Context, source tracking.Source, tip string, shas []string) ([]string, error) {
	ac, err := route[AncestryChecker](r, source, "ancestry check")
	if err != nil {
		return nil, err
	}
	return ac.NotAncestors(ctx, source, tip, shas)
}
