package cache

import (
	"context"
	"strings"

	"github.com/redis/rueidis"
)

// purgeBatch is how many keys each SCAN step of purge asks for.
const purgeBatch = 1000

// checkRestart purges this cache's keys from Redis if Redis restarted (or
// another server took its place) since this instance last trusted it: a
// Redis that loaded a snapshot may hold values older than deletions it
// confirmed before it stopped. It reports false if Redis could not be
// asked or purged. A server that refuses INFO (an ACL) is taken as not
// restarted.
func (r *redisTier) checkRestart(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Lease)
	defer cancel()
	info, err := r.client.Do(ctx, r.client.B().Info().Section("server").Build()).ToString()
	if _, isReply := rueidis.IsRedisErr(err); isReply {
		return true
	} else if err != nil {
		r.count(err)
		return false
	}
	id := infoField(info, "run_id")
	if r.runID != "" && id != r.runID {
		if err := r.purge(ctx); err != nil {
			r.count(err)
			return false
		}
	}
	r.runID = id
	return true
}

// purge deletes every key under the cache's prefix.
func (r *redisTier) purge(ctx context.Context) error {
	match := globEscape(r.cfg.Prefix) + "*"
	var cursor uint64
	for {
		e, err := r.client.Do(ctx, r.client.B().Scan().Cursor(cursor).Match(match).Count(purgeBatch).Build()).AsScanEntry()
		if err != nil {
			return err
		}
		if len(e.Elements) > 0 {
			if err := r.client.Do(ctx, r.client.B().Unlink().Key(e.Elements...).Build()).Error(); err != nil {
				return err
			}
		}
		if cursor = e.Cursor; cursor == 0 {
			return nil
		}
	}
}

// infoField returns the value of name in the text of INFO.
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// globEscape escapes the characters special in a Redis MATCH pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\^`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
