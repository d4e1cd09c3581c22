-- The user's profile: a JSON object of free-form members (bio, avatar_url,
-- links, preferences), checked by the store (kura.CheckProfile and the
-- MaxProfile* limits) and kept in canonical form (sqldb.CanonicalJSON).
-- MariaDB's JSON is LONGTEXT with a json_valid CHECK. MariaDB does not
-- index expressions, so city is read into a VIRTUAL generated column,
-- binary-collated so that it compares as on the other engines, and that
-- column is indexed with id after it (sqldb.JSONField's pattern); the user
-- list filters by the column.

-- +goose Up
ALTER TABLE users ADD COLUMN profile JSON NOT NULL DEFAULT '{}',
    ADD CONSTRAINT users_profile_object CHECK (JSON_TYPE(profile) = 'OBJECT');
ALTER TABLE users ADD COLUMN profile_city VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin AS (JSON_VALUE(profile, '$.city')) VIRTUAL;
CREATE INDEX users_profile_city ON users (profile_city, id);

-- +goose Down
DROP INDEX users_profile_city ON users;
ALTER TABLE users DROP COLUMN profile_city;
ALTER TABLE users DROP CONSTRAINT users_profile_object;
ALTER TABLE users DROP COLUMN profile;
