-- Cache invalidations that Redis could not deliver. An instance that deletes
-- cache keys (a logout, a password change, a user's write) and cannot have
-- every other instance confirm it through Redis records the keys here; every
-- instance reads the rows newer than its last look about once a second,
-- through the index on created_at, and drops the keys from its cache and from
-- Redis. Rows are deleted once no cache can still hold what they name.

-- +goose Up
CREATE TABLE cache_invalidations (
    id         BIGINT         NOT NULL AUTO_INCREMENT PRIMARY KEY,
    cache_name VARCHAR(255)   NOT NULL,
    cache_key  VARBINARY(800) NOT NULL,
    created_at DATETIME(6)    NOT NULL,
    KEY cache_invalidations_created_at_idx (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE cache_invalidations;
