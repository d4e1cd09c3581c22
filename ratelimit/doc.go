// Package ratelimit counts events per key against limits, for the 429s of
// an HTTP API: logins per client address, registrations, requests per
// token.
//
// A Limit is EVENTS/PERIOD ("10/3m"): a burst of EVENTS at once, then one
// more every PERIOD/EVENTS. A Limiter takes events with Allow, which says
// how long to wait when none is left, and tells with Delay how long until
// one is, without taking it. Reserve takes an event whose slot may lie a
// little ahead (up to a wait the caller accepts, such as a login's few
// seconds), in the same one step that decides: callers in parallel get
// successive slots, never the same free one.
//
// Local counts in one process with a token bucket per key
// (golang.org/x/time/rate), forgetting keys whose bucket has refilled, so
// its memory follows the keys active in one period; past its MaxKeys it
// forgets those nearest to refilled first, so that a flood of new keys
// cannot push out a spent one. Package redislimit
// shares the counts between every process on one Redis with one atomic
// GCRA script per event; when Redis fails it counts in process (limits
// then hold per process; they are never lifted, and a request never fails
// for it). This package does not import Redis's client: an HTTP server
// takes a Limiter and never learns which.
//
//	lim, err := redislimit.NewRedis(redislimit.RedisConfig{URL: "redis://127.0.0.1:6379/0"})
//	if err != nil {
//		return err
//	}
//	defer lim.Close()
//	login := ratelimit.Limit{Events: 10, Per: 3 * time.Minute}
//	if ok, wait := lim.Allow(ctx, "login:"+addr, login); !ok {
//		// answer 429 with Retry-After: wait, rounded up to seconds
//	}
//
// Both take a clock (Now) so that tests move time instead of waiting for
// it; package ratelimittest is the suite every Limiter passes.
package ratelimit
