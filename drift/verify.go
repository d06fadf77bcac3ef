package drift

import (
	"context"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Verifier checks the signatures of the commit a resolution selected
// against a trust policy. Package resolver/signature provides one.
type Verifier interface {
	// Policy names the trust policy that applies to source (a
	// fingerprint of it): "" when none does, and then the entries are
	// not-checked and Verify is not called. The Sweeper checks an
	// upstream's commit again only when the commit or this name changed.
	Policy(source tracking.Source) string
	// Verify judges the commit (and, for tag refs, the annotated tag) that
	// res selected for ref in source. The returned Verification's Policy
	// is the name Policy returned. A failure to read the objects is an
	// error, and the upstream fails as a failed resolution does; what the
	// signatures say is never an error.
	Verify(ctx context.Context, source tracking.Source, ref tracking.Ref, res resolver.Result) (tracking.Verification, error)
}
