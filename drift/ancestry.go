package drift

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
)

// checkAncestry finds the installs a force-push left behind, so that
// Reconcile queues their entries as history-rewritten alarms: when a
// branch or head moved (not when it stayed put: an unchanged sweep costs
// nothing extra) and the resolver is a resolver.AncestryChecker, it asks
// which of the upstream's installed commits the new tip does not descend
// from. It runs in the resolving stage, under the resolution's deadline.
//
// A resolver that cannot check (resolver.ErrUnsupported) leaves the
// entries of their ref's kind. A check that fails fails the upstream, as
// a failed resolution does: an alarm is never dropped silently. A rate
// limit defers the upstream.
func (s *Sweeper) checkAncestry(ctx context.Context, o *outcome) {
	ac, ok := s.resolver.(resolver.AncestryChecker)
	key, tip := o.up.Key, o.result.SHA
	if !ok || !key.Ref.Rewritable() || o.result.Unchanged || tip == o.up.LastSHA {
		return
	}
	shas, err := s.store.InstalledSHAs(ctx, key)
	if err != nil {
		o.err = fmt.Errorf("drift: installed commits of %s: %w", key, err)
		return
	}
	shas = slices.DeleteFunc(shas, func(sha string) bool { return sha == tip })
	if len(shas) == 0 {
		return
	}
	behind, err := ac.NotAncestors(ctx, key.Source, tip, shas)
	switch {
	case err == nil:
		o.rewritten = behind
	case errors.Is(err, resolver.ErrUnsupported):
	case errors.Is(err, resolver.ErrRateLimited):
		o.deferred = true
	default:
		o.err = fmt.Errorf("drift: force-push check of %s: %w", key, redact.Error(err))
	}
}
