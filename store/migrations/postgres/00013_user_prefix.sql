-- The admin console searches users by the start of their email or
-- username. PostgreSQL uses a b-tree index for a LIKE 'prefix%' only when
-- the index's collation is C: these two serve the search and its order
-- (lower(x) COLLATE "C"), whatever the database's collation. SQLite's
-- NOCASE indexes and MariaDB's unique keys serve the same search as they
-- are, so only PostgreSQL gets a migration.

-- +goose Up
CREATE INDEX users_email_prefix_idx ON users ((lower(email) COLLATE "C"));
CREATE INDEX users_username_prefix_idx ON users ((lower(username) COLLATE "C"));

-- +goose Down
DROP INDEX users_username_prefix_idx;
DROP INDEX users_email_prefix_idx;
