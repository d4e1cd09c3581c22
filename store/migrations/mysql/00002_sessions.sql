-- Sessions. Only the SHA-256 of the token is stored. Authenticate looks up by
-- token_hash (unique index); a password change ends a user's sessions by
-- user_id (index, also required by the foreign key); the purge uses expires_at.

-- +goose Up
CREATE TABLE sessions (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    BIGINT      NOT NULL,
    token_hash BINARY(32)  NOT NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    UNIQUE KEY sessions_token_hash_key (token_hash),
    KEY sessions_user_id_idx (user_id),
    KEY sessions_expires_at_idx (expires_at),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE sessions;
