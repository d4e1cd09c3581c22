package cache

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/kura-dev/kura/internal/redisclient"
)

// Scripts that write a loaded value, or remove the placeholder, only if the
// key still holds this instance's placeholder. A Delete (DEL) in between
// removes the placeholder, so a load that raced it is never stored.
var (
	storeIfLocked = rueidis.NewLuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false`)
	unlockIfOwned = rueidis.NewLuaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)
)

// redisTier is the Redis side of a Cache: cache-aside reads and writes of
// encoded values, and the invalidation channel that keeps the in-process
// tiers of every instance coherent.
type redisTier struct {
	cfg      Config
	client   rueidis.Client
	stats    *counters
	id       string // this instance, in invalidation messages
	chInval  string // every instance listens here for deleted keys
	chAck    string // this instance's confirmations arrive here
	dropKeys func(keys []string)
	reset    func()
	tokens   atomic.Uint64

	up       atomic.Bool
	reported int // last state given to cfg.stateHook: -1 none, 0 down, 1 up

	mu      sync.Mutex
	waiters map[string]*waiter  // Deletes waiting for confirmations, by message id
	pending map[string]struct{} // keys whose DEL Redis missed, retried on reconnect

	lease // Strict caches only

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// waiter counts the confirmations of one invalidation message.
type waiter struct {
	n  atomic.Int64
	ch chan struct{}
}

// message is an invalidation as published on the channel.
type message struct {
	Origin string   `json:"o"`
	ID     string   `json:"i"`
	Keys   []string `json:"k"`
}

func openRedis(cfg Config, stats *counters, dropKeys func([]string), reset func()) (*redisTier, error) {
	client, err := redisclient.New(cfg.RedisURL, "cache: RedisURL", func(opt *rueidis.ClientOption) {
		opt.ConnWriteTimeout = 3 * time.Second
	})
	if err != nil {
		return nil, err
	}
	r := &redisTier{
		cfg: cfg, client: client, stats: stats, id: rand.Text(),
		chInval: cfg.Prefix + "invalidate", dropKeys: dropKeys, reset: reset,
		reported: -1, waiters: map[string]*waiter{}, pending: map[string]struct{}{},
	}
	r.chAck = cfg.Prefix + "ack:" + r.id
	r.lease = lease{base: time.Now(), trustReported: -1, renewed: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	r.markLost(r.now()) // nothing confirmed yet
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Go(func() { r.run(ctx) })
	if cfg.Strict {
		r.wg.Go(func() { r.beat(ctx) })
		r.wg.Go(func() { r.watch(ctx) })
	}
	return r, nil
}

// getOrLock reads key. On a miss it writes a placeholder holding a fresh
// token and returns the token: the caller may then store its load with
// store. raw is what the key held, nil if nothing.
func (r *redisTier) getOrLock(ctx context.Context, key string) (raw []byte, token string, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RedisTimeout)
	defer cancel()
	raw, err = r.client.Do(ctx, r.client.B().Get().Key(key).Build()).AsBytes()
	if err == nil || !rueidis.IsRedisNil(err) {
		return raw, "", r.count(err)
	}
	token = r.id + ":" + strconv.FormatUint(r.tokens.Add(1), 36)
	cmd := r.client.B().Set().Key(key).Value(string(tagLock) + token).Nx().Get().Px(r.cfg.LockTTL).Build()
	raw, err = r.client.Do(ctx, cmd).AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, token, nil
	}
	return raw, "", r.count(err)
}

// store writes raw under key for ttl if key still holds token's placeholder.
func (r *redisTier) store(ctx context.Context, key, token string, raw []byte, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RedisTimeout)
	defer cancel()
	args := []string{string(tagLock) + token, string(raw), strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)}
	err := storeIfLocked.Exec(ctx, r.client, []string{key}, args).Error()
	if !rueidis.IsRedisNil(err) {
		r.count(err)
	}
}

// unlock removes token's placeholder from key, so that other instances do
// not wait for a load that failed.
func (r *redisTier) unlock(ctx context.Context, key, token string) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RedisTimeout)
	defer cancel()
	r.count(unlockIfOwned.Exec(ctx, r.client, []string{key}, []string{string(tagLock) + token}).Error())
}

// invalidate deletes keys in Redis and waits until every subscribed
// instance confirmed it dropped them. Keys Redis could not delete are kept
// and deleted on reconnect. On failure it also returns the moment from
// which the other instances' leases are counted (see waitOut).
func (r *redisTier) invalidate(ctx context.Context, keys []string) (lost int64, err error) {
	r.mu.Lock()
	if !r.up.Load() {
		for _, k := range keys {
			r.pending[k] = struct{}{}
		}
		r.mu.Unlock()
		return r.markLost(r.now()), fmt.Errorf("%w: redis unreachable; deleted in this instance only", ErrDegraded)
	}
	r.mu.Unlock()
	if lost, err := r.publishDelete(ctx, keys); err != nil {
		return lost, fmt.Errorf("%w: %w", ErrDegraded, err)
	}
	return 0, nil
}

// publishDelete runs DEL for keys, publishes them on the invalidation
// channel and waits for as many confirmations as Redis counted receivers.
// On failure it returns the moment Redis was lost, or for confirmations
// missing, the moment the invalidation was published: an instance that
// did not receive it stopped renewing its lease before then.
func (r *redisTier) publishDelete(ctx context.Context, keys []string) (lost int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.InvalidationTimeout)
	defer cancel()
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.cfg.Prefix + k
	}
	del := func() rueidis.Completed { return r.client.B().Del().Key(full...).Build() }
	if err := r.doTwice(ctx, del).Error(); err != nil {
		r.keepPending(keys)
		return r.markLost(r.now()), fmt.Errorf("delete: %w", r.count(err))
	}
	m := message{Origin: r.id, ID: rand.Text(), Keys: keys}
	payload, _ := json.Marshal(m)
	w := &waiter{ch: make(chan struct{}, 1)}
	r.mu.Lock()
	r.waiters[m.ID] = w
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiters, m.ID)
		r.mu.Unlock()
	}()
	publish := func() rueidis.Completed {
		return r.client.B().Publish().Channel(r.chInval).Message(string(payload)).Build()
	}
	n, err := r.doTwice(ctx, publish).AsInt64()
	if err != nil {
		r.keepPending(keys)
		return r.markLost(r.now()), fmt.Errorf("publish: %w", r.count(err))
	}
	published := r.now()
	for w.n.Load() < n {
		select {
		case <-w.ch:
		case <-ctx.Done():
			return published, fmt.Errorf("%d of %d instances confirmed the invalidation", w.n.Load(), n)
		}
	}
	return 0, nil
}

// doTwice runs the command built by cmd and, if the connection failed (not
// a reply of Redis), once more. The client does not retry by itself, so
// that reads fail fast while Redis is down; but the first command after
// Redis restarted can meet the connection the restart closed, and an
// invalidation must not be given up for that. DEL and PUBLISH are safe to
// repeat: a second delivery is one more drop and confirmation.
func (r *redisTier) doTwice(ctx context.Context, cmd func() rueidis.Completed) rueidis.RedisResult {
	res := r.client.Do(ctx, cmd())
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) && ctx.Err() == nil {
		if _, isReply := rueidis.IsRedisErr(err); !isReply {
			res = r.client.Do(ctx, cmd())
		}
	}
	return res
}

func (r *redisTier) keepPending(keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		r.pending[k] = struct{}{}
	}
}

// onMessage handles the subscription: drop keys another instance (or this
// one) deleted and confirm it, or count a confirmation of our own.
func (r *redisTier) onMessage(pm rueidis.PubSubMessage) {
	if pm.Channel == r.chAck {
		if strings.HasPrefix(pm.Message, heartbeatPrefix) {
			r.onHeartbeat(pm.Message)
			return
		}
		r.mu.Lock()
		w := r.waiters[pm.Message]
		r.mu.Unlock()
		if w != nil {
			w.n.Add(1)
			select {
			case w.ch <- struct{}{}:
			default:
			}
		}
		return
	}
	var m message
	if json.Unmarshal([]byte(pm.Message), &m) != nil {
		return
	}
	r.dropKeys(m.Keys)
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.InvalidationTimeout)
	defer cancel()
	ack := r.client.B().Publish().Channel(r.cfg.Prefix + "ack:" + m.Origin).Message(m.ID).Build()
	r.count(r.client.Do(ctx, ack).Error())
}

// ping reports ErrDegraded while unsubscribed or, for a Strict cache,
// while its lease has lapsed, else the result of PING.
func (r *redisTier) ping(ctx context.Context) error {
	if !r.up.Load() {
		return fmt.Errorf("%w: not connected", ErrDegraded)
	}
	if r.cfg.Strict && !r.trusted.Load() {
		return fmt.Errorf("%w: invalidations not confirmed within the lease", ErrDegraded)
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.RedisTimeout)
	defer cancel()
	if err := r.client.Do(ctx, r.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("%w: %w", ErrDegraded, err)
	}
	return nil
}

// count counts a Redis error other than a nil reply, and returns err.
func (r *redisTier) count(err error) error {
	if err != nil && !rueidis.IsRedisNil(err) {
		r.stats.redisErrors.Add(1)
	}
	return err
}

func (r *redisTier) close() {
	r.cancel()
	r.wg.Wait()
	r.client.Close()
}
