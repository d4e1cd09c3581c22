-- Sessions. Only the SHA-256 of the token is stored. Authenticate looks up by
-- token_hash (unique index); a password change ends a user's sessions by
-- user_id (index, also serving the cascade); the purge uses expires_at.

-- +goose Up
CREATE TABLE sessions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
