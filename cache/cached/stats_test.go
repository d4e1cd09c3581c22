package cached_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
)

// countingStats is a kura.StatsService that blocks until released and
// counts its computations.
type countingStats struct {
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func (c *countingStats) Stats(context.Context) (*kura.Stats, error) {
	if c.calls.Add(1) == 1 {
		close(c.entered)
	}
	<-c.release
	return &kura.Stats{Users: 42}, nil
}

// TestStatsService_OneComputation asks for the stats 50 times at once while
// the first computation is running: it runs once, and all get its result.
func TestStatsService_OneComputation(t *testing.T) {
	c, err := cache.New[kura.Stats](cache.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	next := &countingStats{entered: make(chan struct{}), release: make(chan struct{})}
	s := cached.NewStatsService(next, c)

	var wg sync.WaitGroup
	results := make(chan int64, 50)
	ask := func() {
		wg.Go(func() {
			if st, err := s.Stats(context.Background()); err == nil {
				results <- st.Users
			}
		})
	}
	ask()
	<-next.entered
	for range 49 {
		ask()
	}
	close(next.release)
	wg.Wait()
	close(results)
	n := 0
	for users := range results {
		if users != 42 {
			t.Fatalf("got %d users", users)
		}
		n++
	}
	if n != 50 || next.calls.Load() != 1 {
		t.Fatalf("%d answers from %d computations; want 50 from 1", n, next.calls.Load())
	}
	if _, err := s.Stats(context.Background()); err != nil || next.calls.Load() != 1 {
		t.Fatalf("a later call within the TTL computed again (%d) or failed: %v", next.calls.Load(), err)
	}
}
