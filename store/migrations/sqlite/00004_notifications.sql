-- Notifications. A user's notifications are listed newest first by id through
-- the index on (user_id, id), which also serves the cascade when the user is
-- deleted. idempotency_key is unique: a notification delivered twice is stored
-- once (INSERT ... ON CONFLICT DO NOTHING). The column is idempotency_key on
-- every engine because "key" is a reserved word in MySQL.

-- +goose Up
CREATE TABLE notifications (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT     NOT NULL,
    idempotency_key TEXT     NOT NULL UNIQUE,
    message         TEXT     NOT NULL,
    created_at      DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id);

-- +goose Down
DROP TABLE notifications;
