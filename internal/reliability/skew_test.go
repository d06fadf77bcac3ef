package reliability_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
)

// holding is one stretch of time during which a sweeper believed it held
// the sweeper lease: from the moment a take (not a renewal) returned true
// to the moment it called ReleaseLease. It lies inside the stretch during
// which the store gave it the lease, so two that overlap mean the store
// gave the lease to two holders at once.
type holding struct {
	holder     string
	start, end time.Time
}

// leaseLog records the holdings of every sweeper of a test.
type leaseLog struct {
	mu       sync.Mutex
	holdings []holding
	open     map[string]int // holder → index of its open holding
}

// leaseRecordingStore is a Store that reports its holder's holdings.
type leaseRecordingStore struct {
	storage.Store
	holder string
	log    *leaseLog
}

func (s *leaseRecordingStore) AcquireLease(ctx context.Context, p storage.LeaseParams) (bool, error) {
	ok, err := s.Store.AcquireLease(ctx, p)
	if ok && err == nil {
		now := time.Now()
		s.log.mu.Lock()
		if _, renewal := s.log.open[s.holder]; !renewal {
			s.log.open[s.holder] = len(s.log.holdings)
			s.log.holdings = append(s.log.holdings, holding{holder: s.holder, start: now})
		}
		s.log.mu.Unlock()
	}
	return ok, err
}

func (s *leaseRecordingStore) ReleaseLease(ctx context.Context, name, holder string) error {
	now := time.Now()
	s.log.mu.Lock()
	if i, ok := s.log.open[s.holder]; ok {
		s.log.holdings[i].end = now
		delete(s.log.open, s.holder)
	}
	s.log.mu.Unlock()
	return s.Store.ReleaseLease(ctx, name, holder)
}

// TestSkewedSweepersNeverOverlap runs two Sweepers on one Postgres
// database whose clocks are two minutes ahead and two minutes behind,
// against real git upstreams, for many rounds in which both start a sweep
// at the same instant. The lease must never be held by both: no two
// recorded holdings overlap, and no sweep loses its lease midway.
func TestSkewedSweepersNeverOverlap(t *testing.T) {
	rounds := size(15, 200)
	store, _ := newStore(t)
	f := newFarm(t, 6)
	seedInstalls(t, store, f, 2)
	res := mustGitcli(t)
	log := &leaseLog{open: map[string]int{}}
	sweeper := func(holder string, skew time.Duration) *drift.Sweeper {
		s, err := drift.NewSweeper(&leaseRecordingStore{Store: store, holder: holder, log: log}, res, &drift.SweeperConfig{
			Holder: holder, LeaseTTL: 3 * time.Second, ResolveTimeout: 30 * time.Second,
			Now: func() time.Time { return time.Now().Add(skew) },
		})
		require.NoError(t, err)
		return s
	}
	sweepers := []*drift.Sweeper{sweeper("ahead", 2*time.Minute), sweeper("behind", -2*time.Minute)}
	ctx, cancel := context.WithTimeout(t.Context(), size(3*time.Minute, 30*time.Minute))
	defer cancel()

	var errs []string
	var mu sync.Mutex
	swept, skipped := 0, 0
	for round := range rounds {
		f.move(round%f.len(), round%2 == 0) // something to reconcile
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, s := range sweepers {
			wg.Go(func() {
				<-start
				rep, err := s.RunOnce(ctx)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("round %d, sweeper %d: %v", round, i, err))
				case rep.Skipped:
					skipped++
				default:
					swept++
				}
			})
		}
		close(start)
		wg.Wait()
	}

	l := errorList{name: "the sweeper lease is never held by two sweepers at once"}
	hs := log.holdings
	sort.Slice(hs, func(i, j int) bool { return hs[i].start.Before(hs[j].start) })
	for i := 1; i < len(hs); i++ {
		prev, cur := hs[i-1], hs[i]
		if prev.end.IsZero() || cur.start.Before(prev.end) {
			l.add("%s took the lease at %s while %s held it (%s–%s)", cur.holder, cur.start.Format("15:04:05.000000"),
				prev.holder, prev.start.Format("15:04:05.000000"), prev.end.Format("15:04:05.000000"))
		}
	}
	l.report(t)
	require.Empty(t, errs, "no sweep may lose its lease or fail")
	t.Logf("%d rounds of two sweepers skewed ±2m starting at once: %d sweeps ran, %d skipped, %d holdings, %d overlapping",
		rounds, swept, skipped, len(hs), len(l.msgs))
}
