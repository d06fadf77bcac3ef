package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// CheckLeaseName is the store lease under which one upstream is checked
// by Check, so that replicas check it one at a time.
func CheckLeaseName(up tracking.Upstream) string {
	return fmt.Sprintf("plugindrift/check/%d", up.ID)
}

// Check resolves and reconciles exactly the upstreams keys name, now,
// with the same code and rules as a sweep, except that an upstream backing
// off after failures is checked anyway: the caller has a reason to ask (a
// push webhook said it moved, an operator pressed "check now"). A failure
// is recorded on the upstream and reported, as in a sweep.
//
// # One check per upstream at a time
//
// Each upstream is checked under its own store lease (CheckLeaseName), so
// of several replicas asked about one upstream at once, one resolves it
// and the others count it Deferred: the one that holds the lease is
// already fetching the newest answer. The lease lasts ResolveTimeout plus
// LeaseTTL, longer than one resolution and its write can take.
//
// Check does not take the sweeper lease and may run beside a sweep, which
// may resolve the same upstream too; Reconcile makes that harmless (the
// queue rules hold under concurrent calls), at the cost of one more
// request upstream.
//
// Keys of upstreams the store does not know are left out (Report.Upstreams
// counts the ones found); duplicate keys are checked once. At most
// Concurrency upstreams are resolved at once. The error is a store failure
// (or ctx's), not an upstream's; the report says what was done up to it.
func (s *Sweeper) Check(ctx context.Context, keys ...tracking.UpstreamKey) (Report, error) {
	start := time.Now()
	var rep Report
	ctx, endCheck := observerOr(s.cfg.Observer).Check(ctx)
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, s.cfg.Concurrency)
		seen = make(map[tracking.UpstreamKey]bool, len(keys))
	)
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		if ctx.Err() != nil {
			break
		}
		up, err := s.store.GetUpstream(ctx, key)
		if errors.Is(err, tracking.ErrNotFound) {
			continue
		}
		if err != nil {
			stop(fmt.Errorf("drift: check %s: %w", key, err))
			break
		}
		rep.Upstreams++
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			o, err := s.checkOne(ctx, up)
			if err != nil {
				stop(err)
				return
			}
			mu.Lock()
			rep.add(o, s.cfg.MaxReportErrors)
			mu.Unlock()
		})
	}
	wg.Wait()
	err := context.Cause(ctx)
	rep.Duration = time.Since(start)
	endCheck(rep, err)
	level := slog.LevelInfo
	if err != nil || rep.Failed > 0 {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "plugindrift: check done",
		"upstreams", rep.Upstreams, "resolved", rep.Resolved, "unchanged", rep.Unchanged,
		"failed", rep.Failed, "deferred", rep.Deferred, "installs", rep.Installs,
		"queued", rep.Queued, "superseded", rep.Superseded,
		"duration", rep.Duration, "error", err)
	return rep, err
}

// checkOne checks one upstream under its lease. The error is a store
// failure.
func (s *Sweeper) checkOne(ctx context.Context, up tracking.Upstream) (outcome, error) {
	lease := storage.LeaseParams{Name: CheckLeaseName(up), Holder: s.cfg.Holder, TTL: s.cfg.ResolveTimeout + s.cfg.LeaseTTL}
	ok, err := s.store.AcquireLease(ctx, lease)
	if err != nil {
		return outcome{}, fmt.Errorf("drift: check %s: take lease: %w", up.Key, err)
	}
	if !ok {
		return outcome{up: up, deferred: true}, nil
	}
	defer func() {
		rctx, cancel := detached(ctx)
		defer cancel()
		if err := s.store.ReleaseLease(rctx, lease.Name, lease.Holder); err != nil {
			s.log.WarnContext(ctx, "plugindrift: release check lease", "upstream", up.Key.String(), "error", err)
		}
	}()
	o := s.resolve(ctx, up, true)
	if err := ctx.Err(); err != nil {
		return outcome{}, err // stopped: record nothing more
	}
	// As in a sweep, a write that started completes under its own context.
	wctx, cancel := detached(ctx)
	defer cancel()
	if err := s.record(wctx, &o); err != nil {
		return outcome{}, err
	}
	return o, nil
}
