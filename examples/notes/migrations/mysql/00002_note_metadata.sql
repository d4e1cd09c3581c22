-- A note's metadata: a JSON object of the app's own, free-form (a colour, a
-- source URL, a due date...), checked by the store (MetadataLimits) and
-- written through sqldb's document toolkit: JSON here (LONGTEXT with a
-- json_valid CHECK), jsonb on PostgreSQL, TEXT on SQLite.

-- +goose Up
ALTER TABLE notes ADD COLUMN metadata JSON NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE notes DROP COLUMN metadata;
