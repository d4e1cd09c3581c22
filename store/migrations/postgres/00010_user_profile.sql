-- The user's profile: a JSON object of free-form members (bio, avatar_url,
-- links, preferences), checked by the store (kura.CheckProfile and the
-- MaxProfile* limits) and written in canonical form (sqldb.CanonicalJSON),
-- which jsonb keeps as the same value. city is indexed (sqldb.JSONField's
-- pattern: an expression index on the very expression the user list
-- filters by, then id for the newest-first order), so a filtered page
-- reads one index range. Adding a column with a constant default rewrites
-- no row.

-- +goose Up
ALTER TABLE users ADD COLUMN profile jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT users_profile_check CHECK (jsonb_typeof(profile) = 'object');
CREATE INDEX users_profile_city ON users ((profile->>'city'), id);

-- +goose Down
DROP INDEX users_profile_city;
ALTER TABLE users DROP COLUMN profile;
