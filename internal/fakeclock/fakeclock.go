// Package fakeclock is the injected clock tests use: time moves only when
// the test says so, and never by sleeping.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use. Pass its Now method wherever a Config
// takes `Now func() time.Time`.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock stopped at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
