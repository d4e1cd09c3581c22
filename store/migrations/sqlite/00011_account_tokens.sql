-- The tokens of the account flows by mail (email verification, password
-- reset, email change) and the time a user's address was verified. Only the
-- SHA-256 of a token is stored (token_hash); fingerprint is the SHA-256 of
-- the user's email and password hash when the token was issued, so that a
-- later change of either makes the token useless. new_email is the address
-- an email change confirms ('' otherwise). A token is deleted when it is
-- used; a user's expired ones when another is issued.

-- +goose Up
ALTER TABLE users ADD COLUMN email_verified_at DATETIME;
CREATE TABLE account_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT     NOT NULL,
    token_hash  BLOB     NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    fingerprint BLOB     NOT NULL,
    new_email   TEXT     NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

-- +goose Down
DROP TABLE account_tokens;
ALTER TABLE users DROP COLUMN email_verified_at;
