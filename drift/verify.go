package drift

import (
	"context"
	"errors"
	"fmt"

	"github.com/plugindrift/plugindrift/internal/redact"
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

// verify judges the signatures of the commit o resolved to, under the
// trust policy that SweeperConfig.Verifier names for its source, so that
// Reconcile records the verification on the upstream and its entries. It
// runs in the resolving stage, after checkAncestry, under the
// resolution's deadline.
//
// Without a Verifier, or without a policy for the source, the
// verification is the zero one: not-checked. An upstream that did not
// move and was judged under the same policy keeps its verification
// without asking again, so an unchanged sweep costs nothing extra; a new
// commit or a changed policy is checked again.
//
// A check that fails (the objects could not be read), or an answer that
// is not a valid Verification of that policy, fails the upstream as a
// failed resolution does: nothing is queued without its verdict. A rate
// limit defers the upstream.
func (s *Sweeper) verify(ctx context.Context, o *outcome) {
	v := s.cfg.Verifier
	if v == nil {
		return
	}
	key := o.up.Key
	name := v.Policy(key.Source)
	if name == "" {
		return
	}
	last := o.up.Verification
	if (o.result.Unchanged || o.result.SHA == o.up.LastSHA) && last.Policy == name {
		o.verification = last
		return
	}
	start := s.cfg.Now()
	got, err := v.Verify(ctx, key.Source, key.Ref, o.result)
	o.verifyTime = s.cfg.Now().Sub(start)
	err = redact.Error(err)
	switch {
	case err == nil:
	case errors.Is(err, resolver.ErrRateLimited):
		o.deferred = true
		return
	case context.Cause(ctx) == errResolveTimedOut:
		o.err = s.timedOut("signature check of", key)
		return
	default:
		o.err = fmt.Errorf("drift: signature check of %s: %w", key, err)
		return
	}
	if got.Policy != name {
		o.err = fmt.Errorf("drift: signature check of %s: the verifier answered for policy %s, not %s, the one it names for the source: fix the Verifier: %w", key, redact.Quote(got.Policy), redact.Quote(name), tracking.ErrInvalidArgument)
		return
	}
	if err := got.Validate(); err != nil {
		o.err = fmt.Errorf("drift: signature check of %s: the verifier's answer is unusable: %w", key, err)
		return
	}
	o.verification = got
}
