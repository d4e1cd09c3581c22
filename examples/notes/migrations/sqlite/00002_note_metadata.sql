-- A note's metadata: a JSON object of the app's own, free-form (a colour, a
-- source URL, a due date...), checked by the store (MetadataLimits) and
-- written through sqldb's document toolkit: TEXT with a json_valid CHECK
-- here, jsonb on PostgreSQL, JSON on MariaDB.

-- +goose Up
ALTER TABLE notes ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata));

-- +goose Down
ALTER TABLE notes DROP COLUMN metadata;
