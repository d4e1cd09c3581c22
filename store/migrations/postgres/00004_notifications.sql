-- Notifications. A user's notifications are listed newest first by id through
-- the index on (user_id, id), which also serves the cascade when the user is
-- deleted. idempotency_key is unique: a notification delivered twice is stored
-- once (INSERT ... ON CONFLICT DO NOTHING). The column is idempotency_key on
-- every engine because "key" is a reserved word in MySQL.

-- +goose Up
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text        NOT NULL,
    idempotency_key text        NOT NULL CONSTRAINT notifications_idempotency_key_key UNIQUE,
    message         text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id);

-- +goose Down
DROP TABLE notifications;
