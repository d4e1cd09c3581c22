package cached

import (
	"context"
	"errors"
	"log/slog"

	"github.com/kura-dev/kura/cache"
)

// deleteAfterWrite deletes keys from c after a write that has committed. A
// cache that cannot reach every instance (Redis down) is logged, not
// returned, since failing the write's response would mislead: this
// instance has dropped the keys, a Strict cache has waited until the others
// stopped trusting their copies, and the Fallback has recorded the keys
// for them (see cache.Cache.Delete).
func deleteAfterWrite[V any](ctx context.Context, c *cache.Cache[V], log *slog.Logger, keys []string, what slog.Attr) {
	if err := c.Delete(context.WithoutCancel(ctx), keys...); err != nil {
		level := slog.LevelError
		if errors.Is(err, cache.ErrDegraded) {
			level = slog.LevelWarn
		}
		log.LogAttrs(ctx, level, "cache invalidation incomplete", what, slog.Any("err", err))
	}
}
