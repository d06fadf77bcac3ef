package resolver

import (
	"context"

	"github.com/plugindrift/plugindrift/tracking"
)

// ObjectReader is implemented by resolvers that can hand over the signed
// git objects a resolution selected, for a signature check. It is
// optional, like AncestryChecker: the check asks it only when an
// upstream's commit moved.
type ObjectReader interface {
	// ReadObjects returns the raw objects that res (a resolution of ref
	// in source) selected. The objects must be the ones res names: the
	// implementation checks that the commit object hashes to res.SHA and
	// that the tag object, when there is one, points at it, and returns an
	// error otherwise.
	//
	// It must return an error matching ErrUnsupported when it cannot read
	// objects of this source, ErrRateLimited (as a *RateLimitError) when
	// the upstream asks to wait, and ErrNotFound when the commit (or the
	// tag) is gone.
	ReadObjects(ctx context.Context, source tracking.Source, ref tracking.Ref, res Result) (Objects, error)
}

// Objects are the raw git objects a resolution selected, byte for byte as
// git hashes them (the body of `git cat-file commit` and `git cat-file
// tag`), signatures included.
type Objects struct {
	// Commit is the commit object of Result.SHA. It is nil only when the
	// upstream says the commit carries no signature and does not hand the
	// object over (GitHub gives no payload for an unsigned commit): a nil
	// Commit is judged unsigned.
	Commit []byte
	// Tag is the annotated tag object the ref named, for refs that
	// select a tag (tag:, tag:latest, semver:) when the tag is annotated;
	// nil for a lightweight tag, for branches and head, and for an
	// unsigned annotated tag the upstream does not hand over.
	Tag []byte
	// Host is what the upstream host itself says of the signatures
	// (GitHub's verification field), nil when it says nothing.
	Host *HostVerdict
}

// HostVerdict is an upstream host's own judgement of the signatures.
type HostVerdict struct {
	// Name names the host's judgement: "github".
	Name string
	// Commit is its verdict on the commit; Tag on the annotated tag, nil
	// when there is none.
	Commit *HostCheck
	Tag    *HostCheck
}

// HostCheck is one verdict of a host.
type HostCheck struct {
	// Verified is the host's yes or no.
	Verified bool
	// Reason is the host's own word for it ("valid", "unsigned",
	// "unknown_key", …).
	Reason string
}

var _ ObjectReader = (*Registry)(nil)

// ReadObjects implements ObjectReader by routing to the resolver of the
// source's scheme; a scheme with no resolver, or one whose resolver does
// not implement ObjectReader, returns ErrUnsupported.
func (r *Registry) ReadObjects(ctx context.Context, source tracking.Source, ref tracking.Ref, res Result) (Objects, error) {
	or, err := route[ObjectReader](r, source, "object reader")
	if err != nil {
		return Objects{}, err
	}
	return or.ReadObjects(ctx, source, ref, res)
}
