-- The tokens of the account flows by mail (email verification, password
-- reset, email change) and the time a user's address was verified. Only the
-- SHA-256 of a token is stored (token_hash); fingerprint is the SHA-256 of
-- the user's email and password hash when the token was issued, so that a
-- later change of either makes the token useless. new_email is the address
-- an email change confirms ('' otherwise). A token is deleted when it is
-- used; a user's expired ones when another is issued.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
CREATE TABLE account_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     text        NOT NULL,
    token_hash  bytea       NOT NULL CONSTRAINT account_tokens_token_hash_key UNIQUE CHECK (octet_length(token_hash) = 32),
    fingerprint bytea       NOT NULL,
    new_email   text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

-- +goose Down
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
