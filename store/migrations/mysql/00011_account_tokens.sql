-- The tokens of the account flows by mail (email verification, password
-- reset, email change) and the time a user's address was verified. Only the
-- SHA-256 of a token is stored (token_hash); fingerprint is the SHA-256 of
-- the user's email and password hash when the token was issued, so that a
-- later change of either makes the token useless. new_email is the address
-- an email change confirms ('' otherwise). A token is deleted when it is
-- used; a user's expired ones when another is issued.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified_at DATETIME(6) NULL;
CREATE TABLE account_tokens (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id     BIGINT       NOT NULL,
    purpose     VARCHAR(32)  NOT NULL,
    token_hash  BINARY(32)   NOT NULL,
    fingerprint BINARY(32)   NOT NULL,
    new_email   VARCHAR(254) NOT NULL DEFAULT '',
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    UNIQUE KEY account_tokens_token_hash_key (token_hash),
    KEY account_tokens_user_idx (user_id, purpose, created_at),
    CONSTRAINT account_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
