-- Cache invalidations that Redis could not deliver. An instance that deletes
-- cache keys (a logout, a password change, a user's write) and cannot have
-- every other instance confirm it through Redis records the keys here; every
-- instance reads the rows newer than its last look about once a second,
-- through the index on created_at, and drops the keys from its cache and from
-- Redis. Rows are deleted once no cache can still hold what they name.

-- +goose Up
CREATE TABLE cache_invalidations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cache_name text        NOT NULL,
    cache_key  text        NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX cache_invalidations_created_at_idx ON cache_invalidations (created_at);

-- +goose Down
DROP TABLE cache_invalidations;
