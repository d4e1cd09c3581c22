package cache

import (
	"context"
	"time"

	"github.com/redis/rueidis"
)

// Reconnection backoff of the subscription.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// run keeps the subscription to the invalidation channel alive until ctx
// ends. The Redis tier is used only while subscribed: invalidations sent
// while this instance is not listening are lost, so every time the
// subscription is made again the in-process tier is dropped as a whole.
func (r *redisTier) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		if r.session(ctx) {
			backoff = minBackoff
		}
		r.setUp(false)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session subscribes on a dedicated connection, recovers, and waits until
// the connection breaks or ctx ends. It reports whether it got subscribed.
func (r *redisTier) session(ctx context.Context) bool {
	dc, release := r.client.Dedicate()
	defer release()
	wait := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: r.onMessage})
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	err := dc.Do(sctx, dc.B().Subscribe().Channel(r.chInval, r.chAck).Build()).Error()
	cancel()
	if err != nil {
		dc.Close()
		return false
	}
	if !r.recover(ctx) {
		dc.Close()
		return true
	}
	select {
	case <-wait:
	case <-ctx.Done():
	}
	r.setUp(false)
	dc.Close()
	return true
}

// recover makes the tiers coherent again after a time without the
// subscription: it drops the in-process tier (its entries may have missed
// invalidations), applies the deletions Redis missed, and only then lets
// reads use Redis again.
func (r *redisTier) recover(ctx context.Context) bool {
	r.reset()
	if !r.flushPending(ctx) {
		return false
	}
	r.setUp(true)
	return true
}

// flushPending deletes in Redis, and publishes, the keys whose deletion
// Redis missed, until none is left. It reports false if Redis missed them
// again.
func (r *redisTier) flushPending(ctx context.Context) bool {
	for {
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.mu.Unlock()
			return true
		}
		keys := make([]string, 0, len(r.pending))
		for k := range r.pending {
			keys = append(keys, k)
		}
		clear(r.pending)
		r.mu.Unlock()
		if _, err := r.publishDelete(ctx, keys); err != nil {
			// publishDelete kept the keys if Redis missed them; an
			// instance slow to confirm is no reason to stay down.
			r.mu.Lock()
			missed := len(r.pending) > 0
			r.mu.Unlock()
			if missed {
				return false
			}
		}
	}
}

// setUp records whether the tier is subscribed. For a Strict cache, going
// down ends trust at once, and coming up sends a heartbeat at once.
func (r *redisTier) setUp(up bool) {
	r.up.Store(up)
	if r.cfg.Strict {
		if up {
			select {
			case r.kick <- struct{}{}:
			default:
			}
		} else {
			r.lost()
		}
	}
	r.report(up)
}

// report tells the test hook about a change of state; only run calls it.
func (r *redisTier) report(up bool) {
	state := 0
	if up {
		state = 1
	}
	if r.reported != state {
		r.reported = state
		if r.cfg.stateHook != nil {
			r.cfg.stateHook(up)
		}
	}
}
