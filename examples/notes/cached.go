package notes

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/kura-dev/kura/cache"
)

var _ Service = (*Cached)(nil)

// Cached is the Service with reads of a note by id served from a
// two-tier cache (package cache: in process, and in Redis when the cache
// has a RedisURL, shared by every instance). Every write deletes the note
// it changed before it answers, so a read straight after it, on any
// instance, sees the change. Lists and counts go to the store.
type Cached struct {
	*Store
	cache *cache.Cache[Note]
	log   *slog.Logger
}

// NewCached returns s with its note reads cached in c; log receives
// invalidations that could not reach every instance (nil: slog.Default()).
func NewCached(s *Store, c *cache.Cache[Note], log *slog.Logger) *Cached {
	if log == nil {
		log = slog.Default()
	}
	return &Cached{Store: s, cache: c, log: log}
}

func noteKey(id int64) string { return strconv.FormatInt(id, 10) }

// Note serves the note from the cache, then checks that the caller may
// read it: the cached note is the same for everyone.
func (c *Cached) Note(ctx context.Context, id int64) (*Note, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	n, err := c.cache.GetOrLoad(ctx, noteKey(id), func(ctx context.Context) (Note, error) {
		n, err := c.Store.LoadNote(ctx, id)
		if err != nil {
			return Note{}, err
		}
		return *n, nil
	})
	if err != nil {
		return nil, err
	}
	if !n.CanRead(u) {
		return nil, errNoteNotFound
	}
	return &n, nil
}

// UpdateNote updates the note, then deletes its cached copy everywhere.
func (c *Cached) UpdateNote(ctx context.Context, id int64, in NoteInput) (*Note, error) {
	n, err := c.Store.UpdateNote(ctx, id, in)
	if err != nil {
		return nil, err
	}
	c.forget(ctx, id)
	return n, nil
}

// DeleteNote deletes the note, then its cached copy everywhere.
func (c *Cached) DeleteNote(ctx context.Context, id int64) error {
	if err := c.Store.DeleteNote(ctx, id); err != nil {
		return err
	}
	c.forget(ctx, id)
	return nil
}

// ShareNote shares the note, then deletes its cached copy (which lists who
// may read it) everywhere.
func (c *Cached) ShareNote(ctx context.Context, id, withUserID int64) error {
	if err := c.Store.ShareNote(ctx, id, withUserID); err != nil {
		return err
	}
	c.forget(ctx, id)
	return nil
}

// forget deletes a note's cached copy everywhere. The write has
// committed by then, so a failure is logged, not returned: when Redis is
// down the copy is gone here, and other instances keep theirs until Redis
// returns (they then drop everything) or their TTL ends. The delete is not
// cut short by a client that went away.
func (c *Cached) forget(ctx context.Context, id int64) {
	if err := c.cache.Delete(context.WithoutCancel(ctx), noteKey(id)); err != nil {
		level := slog.LevelError
		if errors.Is(err, cache.ErrDegraded) {
			level = slog.LevelWarn
		}
		c.log.LogAttrs(ctx, level, "cache invalidation incomplete", slog.Int64("note_id", id), slog.Any("err", err))
	}
}
