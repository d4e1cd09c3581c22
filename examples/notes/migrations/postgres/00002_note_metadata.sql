-- A note's metadata: a JSON object of the app's own, free-form (a colour, a
-- source URL, a due date...), checked by the store (MetadataLimits) and
-- written through sqldb's document toolkit: jsonb here, TEXT with a
-- json_valid CHECK on SQLite, JSON on MariaDB.

-- +goose Up
ALTER TABLE notes ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE notes DROP COLUMN metadata;
