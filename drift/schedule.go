package drift

import (
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// Next returns when the schedule runs its next sweep, by the Sweeper's
// clock (before any jitter), or the zero time when the schedule is not
// running (Start was not called, or Stop was).
func (s *Sweeper) Next() time.Time {
	s.mu.Lock()
	running := s.cron != nil
	s.mu.Unlock()
	if !running {
		return time.Time{}
	}
	return s.schedule.Next(s.now())
}

// RetryAt returns when a sweep resolves up again after its consecutive
// failures: its last check plus the Backoff of its failure count. It is
// the zero time for an upstream that is not failing, which every sweep
// resolves.
func (s *Sweeper) RetryAt(up tracking.Upstream) time.Time {
	if up.ConsecutiveFailures == 0 {
		return time.Time{}
	}
	return up.LastCheckedAt.Add(s.cfg.Backoff(up.ConsecutiveFailures))
}
