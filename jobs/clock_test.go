package jobs

import (
	"sync"
	"time"
)

// FakeClock is a Config.Now for tests: the real time, moved forward by
// Advance, so a test reaches a time past a retention or a deadline
// without waiting for it. The zero value reads the real time.
type FakeClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

// Now returns the real time plus what Advance has added.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.ahead)
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}
