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
    scope       text        NOT NULL,
    idem_key    text        NOT NULL,
    fingerprint bytea       NOT NULL,
    claim       text        NOT NULL,
    status      integer     NOT NULL DEFAULT 0,
    headers     text,
    body        bytea,
    created_at  timestamptz NOT NULL,
    claimed_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
