// Package redisclient makes the Redis clients of kura's packages (the
// cache, its read-your-writes positions, the rate limiter) one way: each
// starts while Redis is down, connects when it can, and fails a command at
// once rather than retrying it, since every caller has a fallback of its
// own (the loader, the primary, counting in process).
package redisclient

import (
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// New returns a client of the Redis at url (redis://, rediss:// or
// unix://), with one connection made lazily, no client-side cache, no
// retries and a dial timeout of a second; tune, if not nil, adjusts the
// options further. name is what the caller calls the URL in its errors,
// such as "cache: RedisURL"; an error never quotes the URL, which may hold
// a password.
func New(url, name string, tune func(*rueidis.ClientOption)) (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid redis://, rediss:// or unix:// URL", name)
	}
	opt.ForceSingleClient = true // start even when Redis is down
	opt.DisableCache = true
	opt.DisableRetry = true
	opt.Dialer.Timeout = time.Second
	if tune != nil {
		tune(&opt)
	}
	client, err := rueidis.NewClient(opt)
	if client == nil {
		return nil, fmt.Errorf("%s: redis client: %w", name, err)
	}
	return client, nil
}
