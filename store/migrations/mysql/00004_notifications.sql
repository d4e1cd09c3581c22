-- Notifications. A user's notifications are listed newest first by id through
-- the index on (user_id, id), which also serves the foreign key and its
-- cascade. idempotency_key is unique: a notification delivered twice is stored
-- once (INSERT ... ON DUPLICATE KEY UPDATE id = id; INSERT IGNORE would also
-- hide a missing user). "key" is a reserved word here, hence the column's
-- name. It is VARBINARY so that keys compare byte for byte, as on the other
-- engines: the table's _ci collation would fold case, and even a _bin
-- collation ignores trailing spaces. 800 bytes hold 200 characters of utf8mb4.

-- +goose Up
CREATE TABLE notifications (
    id              BIGINT         NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id         BIGINT         NOT NULL,
    kind            VARCHAR(50)    NOT NULL,
    idempotency_key VARBINARY(800) NOT NULL,
    message         VARCHAR(2000)  NOT NULL,
    created_at      DATETIME(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE KEY notifications_idempotency_key_key (idempotency_key),
    KEY notifications_user_id_idx (user_id, id),
    CONSTRAINT notifications_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE notifications;
