-- The answers to writes sent with an Idempotency-Key header, so that a
-- retry, to this instance or another, gets the first answer instead of
-- running the write again. A row is claimed (status 0) by one atomic insert
-- before the write runs, so that of concurrent duplicates one runs and the
-- others wait; it then holds the answer. scope is who sent it ("user:<id>",
-- or "addr:<client address>" for an anonymous request), so nobody replays
-- another's answer; fingerprint is the sha256 of the method, path and body.
-- Rows are deleted 24 hours after created_at.

-- +goose Up
CREATE TABLE idempotency_keys (
    scope       TEXT     NOT NULL,
    idem_key    TEXT     NOT NULL,
    fingerprint BLOB     NOT NULL,
    claim       TEXT     NOT NULL,
    status      INTEGER  NOT NULL DEFAULT 0,
    headers     TEXT,
    body        BLOB,
    created_at  DATETIME NOT NULL,
    claimed_at  DATETIME NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
