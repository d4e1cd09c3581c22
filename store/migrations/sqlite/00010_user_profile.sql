-- The user's profile: a JSON object of free-form members (bio, avatar_url,
-- links, preferences), checked by the store (kura.CheckProfile and the
-- MaxProfile* limits) and kept in canonical form (sqldb.CanonicalJSON).
-- city is indexed (sqldb.JSONField's pattern: an expression index on the
-- very expression the user list filters by, then id for the newest-first
-- order), so a filtered page reads one index range.

-- +goose Up
ALTER TABLE users ADD COLUMN profile TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(profile) AND json_type(profile) = 'object');
CREATE INDEX users_profile_city ON users (json_extract(profile, '$.city'), id);

-- +goose Down
DROP INDEX users_profile_city;
ALTER TABLE users DROP COLUMN profile;
