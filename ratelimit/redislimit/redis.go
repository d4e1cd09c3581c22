package redislimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/kura-dev/kura/internal/redisclient"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/redis/rueidis"
)

// Defaults of RedisConfig.
const (
	DefaultPrefix = "kura:ratelimit:"
	// DefaultRedisTimeout bounds one call to Redis; past it the event is
	// counted in process instead.
	DefaultRedisTimeout = 250 * time.Millisecond
	// DefaultRetryEvery is how long, after Redis failed, the limiter counts
	// in process before it tries Redis again.
	DefaultRetryEvery = time.Second
)

// gcra is the generic cell rate algorithm in one atomic step: a key holds
// the theoretical arrival time (TAT, in microseconds) of its next event;
// an event's slot is when the TAT, moved on by one interval, is at most
// the burst ahead of the time. An event whose slot is at most ARGV[5]
// microseconds ahead is taken (when ARGV[4] is 1: the TAT moves on by one
// interval, so the next event's slot is one interval later). It returns
// {1, wait} when taken, {0, wait} when not, the wait being the
// microseconds until the slot. The key expires when its allowance is
// whole again.
var gcra = rueidis.NewLuaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local maxwait = tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat + interval - burst - now
if wait < 0 then wait = 0 end
if wait > maxwait then return {0, wait} end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', string.format('%.0f', math.ceil((tat + interval - now) / 1000)))
end
return {1, wait}`)

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	// URL is the Redis server, redis://, rediss:// or unix://. Required.
	URL string
	// Prefix starts every key; "" means DefaultPrefix.
	Prefix string
	// Now is the clock; nil means time.Now. Instances sharing a Redis
	// should agree on the time (NTP): a skew of a second moves a limit's
	// refill by as much.
	Now func() time.Time
	// Timeout bounds one call to Redis; zero means DefaultRedisTimeout.
	Timeout time.Duration
	// RetryEvery is how long the limiter counts in process after Redis
	// failed, before trying it again; zero means DefaultRetryEvery.
	RetryEvery time.Duration
	// Fallback counts events while Redis is out of reach; nil means a new
	// Local on the same clock. It counts every event of this process,
	// allowed by Redis or not, so that an outage starts from what this
	// process has seen rather than from nothing.
	Fallback *ratelimit.Local
	// Logger gets a warning when Redis fails and a line when it is back;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Redis is a Limiter shared by every process using the same Redis and
// Prefix: one atomic GCRA script per event. When Redis fails or is slow,
// the event is counted by the in-process Fallback instead: limits are then
// per process, never lifted, and no request fails.
type Redis struct {
	cfg    RedisConfig
	client rueidis.Client

	mu        sync.Mutex
	downUntil time.Time // count in process until then
	degraded  bool
}

var _ ratelimit.Limiter = (*Redis)(nil)

// NewRedis returns a Redis limiter. It starts even when Redis is down.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	client, err := redisclient.New(cfg.URL, "redislimit: URL", nil)
	if err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultRedisTimeout
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = DefaultRetryEvery
	}
	if cfg.Fallback == nil {
		cfg.Fallback = ratelimit.NewLocal(ratelimit.LocalConfig{Now: cfg.Now})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Redis{cfg: cfg, client: client}, nil
}

// Close closes the connection to Redis.
func (r *Redis) Close() { r.client.Close() }

// Degraded reports whether the last call to Redis failed, so that events
// are counted per process.
func (r *Redis) Degraded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.degraded
}

// Allow takes one event of key under l in Redis, or in process while
// Redis is out of reach.
func (r *Redis) Allow(ctx context.Context, key string, l ratelimit.Limit) (bool, time.Duration) {
	return r.Reserve(ctx, key, l, 0)
}

// Reserve takes one event of key under l whose slot lies at most maxWait
// ahead, in Redis, or in process while Redis is out of reach.
func (r *Redis) Reserve(ctx context.Context, key string, l ratelimit.Limit, maxWait time.Duration) (bool, time.Duration) {
	if l.Off() {
		return true, 0
	}
	ok, wait := r.cfg.Fallback.Reserve(ctx, key, l, maxWait)
	if shared, err := r.run(ctx, key, l, true, maxWait); err == nil {
		return shared.ok, shared.wait
	}
	return ok, wait
}

// Delay returns how long until key has an event left under l.
func (r *Redis) Delay(ctx context.Context, key string, l ratelimit.Limit) time.Duration {
	if l.Off() {
		return 0
	}
	if shared, err := r.run(ctx, key, l, false, 0); err == nil {
		return shared.wait
	}
	return r.cfg.Fallback.Delay(ctx, key, l)
}

// outcome is the script's answer: whether the event was (or would be)
// taken, and the wait until its slot.
type outcome struct {
	ok   bool
	wait time.Duration
}

// run runs the script on key, taking an event whose slot is at most
// maxWait ahead if take; an error means Redis could not answer.
func (r *Redis) run(ctx context.Context, key string, l ratelimit.Limit, take bool, maxWait time.Duration) (outcome, error) {
	now := r.cfg.Now()
	if !r.tryRedis(now) {
		return outcome{}, errDown
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	interval := l.Interval().Microseconds()
	args := []string{
		strconv.FormatInt(now.UnixMicro(), 10),
		strconv.FormatInt(interval, 10),
		strconv.FormatInt(interval*int64(l.Events), 10),
		"0",
		strconv.FormatInt(maxWait.Microseconds(), 10),
	}
	if take {
		args[3] = "1"
	}
	k := r.cfg.Prefix + l.String() + ":" + key
	res, err := gcra.Exec(ctx, r.client, []string{k}, args).AsIntSlice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("redislimit: the script answered %d values, want 2", len(res))
	}
	r.report(now, err)
	if err != nil {
		return outcome{}, err
	}
	return outcome{ok: res[0] == 1, wait: time.Duration(res[1]) * time.Microsecond}, nil
}

var errDown = errors.New("redislimit: redis is down")

// tryRedis reports whether to call Redis now: not while a recent failure's
// RetryEvery lasts.
func (r *Redis) tryRedis(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !now.Before(r.downUntil)
}

// report records the outcome of a call to Redis, logging each change.
func (r *Redis) report(now time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil && !r.degraded:
		r.cfg.Logger.Warn("rate limits: redis unavailable, counting in process", "err", err)
	case err == nil && r.degraded:
		r.cfg.Logger.Info("rate limits: redis back, counting shared")
	}
	r.degraded = err != nil
	if err != nil {
		r.downUntil = now.Add(r.cfg.RetryEvery)
	}
}
