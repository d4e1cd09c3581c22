package cache

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// heartbeatPrefix starts a heartbeat on an instance's own ack channel;
// confirmations there are message ids (rand.Text), which never start so.
const heartbeatPrefix = "hb:"

// forgetBatch is the most keys one DEL of Forget or of a recovery carries.
const forgetBatch = 500

// lease is what a Strict cache's Redis tier knows of its own subscription:
// whether invalidations are known to reach it. Times are nanoseconds on
// the monotonic clock since base.
//
// Every Lease/4 the instance publishes a heartbeat, stamped with the time
// it was sent, on its own ack channel; the heartbeat comes back through the
// subscription, after every invalidation Redis published before it. Its
// return extends trust to its send time + Lease/2, so a subscription that
// stops delivering (Redis killed, hung, a connection cut without a reset)
// is distrusted within Lease/2 of the last heartbeat that got through. The
// reader's flag is flipped by a timer; the other Lease/2 is the margin for
// a late timer that a Delete elsewhere counts on (see waitOut).
type lease struct {
	base    time.Time
	until   atomic.Int64 // trust ends then; 0 after the subscription broke
	lostAt  atomic.Int64 // first failure seen since a heartbeat came back; 0 none
	trusted atomic.Bool  // read on the hot path

	renewed chan struct{} // a heartbeat came back
	kick    chan struct{} // subscribed: send a heartbeat now

	runID string // of the Redis last trusted; owned by watch

	trustMu       sync.Mutex // orders changes of trusted and their reports
	subs          uint64     // subscriptions lost so far
	trustReported int        // last state given to cfg.trustHook: -1 none
}

func (r *redisTier) now() int64 { return int64(time.Since(r.base)) }

// markLost records t as the moment Redis was lost, unless a failure since
// the last heartbeat came back is recorded already, and returns the moment
// recorded.
func (r *redisTier) markLost(t int64) int64 {
	t = max(t, 1)
	if r.lostAt.CompareAndSwap(0, t) {
		return t
	}
	if v := r.lostAt.Load(); v > 0 && v < t {
		return v
	}
	return t
}

// beat publishes a heartbeat every Lease/4 while subscribed, and at once
// when the subscription is made.
func (r *redisTier) beat(ctx context.Context) {
	every := r.cfg.Lease / 4
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
		if !r.up.Load() {
			continue
		}
		sent := r.now()
		hctx, cancel := context.WithTimeout(ctx, every)
		cmd := r.client.B().Publish().Channel(r.chAck).Message(heartbeatPrefix + strconv.FormatInt(sent, 36)).Build()
		err := r.client.Do(hctx, cmd).Error()
		cancel()
		if err != nil && ctx.Err() == nil {
			r.count(err)
			r.markLost(r.now())
		}
	}
}

// onHeartbeat extends trust when a heartbeat comes back.
func (r *redisTier) onHeartbeat(msg string) {
	sent, err := strconv.ParseInt(strings.TrimPrefix(msg, heartbeatPrefix), 36, 64)
	if err != nil {
		return
	}
	until := sent + int64(r.cfg.Lease/2)
	for {
		old := r.until.Load()
		if old >= until || r.until.CompareAndSwap(old, until) {
			break
		}
	}
	r.lostAt.Store(0)
	select {
	case r.renewed <- struct{}{}:
	default:
	}
}

// watch flips trusted: off when the lease ends, on when a heartbeat came
// back and the tiers have been made coherent again.
func (r *redisTier) watch(ctx context.Context) {
	t := time.NewTimer(r.cfg.Lease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.renewed:
		case <-t.C:
		}
		t.Reset(max(r.evaluate(ctx), time.Millisecond))
	}
}

// evaluate updates trusted and returns when to look again.
func (r *redisTier) evaluate(ctx context.Context) time.Duration {
	now, until := r.now(), r.until.Load()
	if r.trusted.Load() {
		if now < until {
			return time.Duration(until - now)
		}
		r.distrust(now)
		return r.cfg.Lease / 4
	}
	if r.up.Load() && now < until && r.regain(ctx) {
		return time.Duration(r.until.Load() - r.now())
	}
	return r.cfg.Lease / 4
}

// distrust ends trust: reads go to the loader from now on.
func (r *redisTier) distrust(now int64) {
	r.trustMu.Lock()
	defer r.trustMu.Unlock()
	r.markLost(now)
	r.trusted.Store(false)
	r.reportTrust(false)
}

// lost is called when the subscription broke: trust ends at once, and
// only a heartbeat through the next subscription brings it back.
func (r *redisTier) lost() {
	r.trustMu.Lock()
	defer r.trustMu.Unlock()
	r.subs++
	r.until.Store(0)
	r.markLost(r.now())
	r.trusted.Store(false)
	r.reportTrust(false)
}

// regain makes the tiers coherent again after the lease lapsed, then
// trusts them: it drops the in-process tier (entries kept meanwhile may
// have missed invalidations), applies the deletions Redis missed here,
// empties the cache in Redis if Redis restarted meanwhile (see
// checkRestart), applies the deletions any instance recorded in the
// Fallback, and trusts only if the subscription held and the lease still
// runs. It reports whether it did.
func (r *redisTier) regain(ctx context.Context) bool {
	r.trustMu.Lock()
	subs := r.subs
	r.trustMu.Unlock()
	r.reset()
	if !r.flushPending(ctx) || !r.checkRestart(ctx) {
		return false
	}
	if fb := r.cfg.Fallback; fb != nil {
		fctx, cancel := context.WithTimeout(ctx, r.cfg.Lease)
		keys, err := fb.Recent(fctx, r.cfg.Prefix)
		cancel()
		if err != nil || !r.forget(ctx, keys) {
			return false
		}
	}
	r.trustMu.Lock()
	defer r.trustMu.Unlock()
	if subs != r.subs || !r.up.Load() || r.now() >= r.until.Load() {
		return false
	}
	r.trusted.Store(true)
	r.reportTrust(true)
	return true
}

// forget deletes keys in Redis and then drops them here, in batches; keys
// Redis missed are kept for later and forget reports false.
func (r *redisTier) forget(ctx context.Context, keys []string) bool {
	ok := true
	for batch := range slices.Chunk(keys, forgetBatch) {
		full := make([]string, len(batch))
		for i, k := range batch {
			full[i] = r.cfg.Prefix + k
		}
		dctx, cancel := context.WithTimeout(ctx, r.cfg.InvalidationTimeout)
		del := func() rueidis.Completed { return r.client.B().Del().Key(full...).Build() }
		err := r.doTwice(dctx, del).Error()
		cancel()
		if err != nil {
			r.count(err)
			r.keepPending(batch)
			ok = false
		}
		// After Redis, as in Delete: a load that read Redis before the DEL
		// is made unservable.
		r.dropKeys(batch)
	}
	return ok
}

// waitOut returns once every other instance has either dropped keys this
// instance could not have them confirm, or stopped trusting its copy: once
// Lease has passed since lost (the moment this instance lost Redis, or the
// invalidation was published), or when ctx ends. Another instance's trust
// ends Lease/2 after it sent its last heartbeat that got through, and that
// was before lost; the other half of Lease is its margin.
func (r *redisTier) waitOut(ctx context.Context, lost int64) {
	d := time.Duration(lost + int64(r.cfg.Lease) - r.now())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// reportTrust tells the test hook about a change of trust; r.trustMu is held.
func (r *redisTier) reportTrust(trusted bool) {
	state := 0
	if trusted {
		state = 1
	}
	if r.trustReported != state {
		r.trustReported = state
		if r.cfg.trustHook != nil {
			r.cfg.trustHook(trusted)
		}
	}
}
