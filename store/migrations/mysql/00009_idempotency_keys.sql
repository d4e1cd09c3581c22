-- The answers to writes sent with an Idempotency-Key header, so that a
-- retry, to this instance or another, gets the first answer instead of
-- running the write again. A row is claimed (status 0) by one atomic insert
-- before the write runs, so that of concurrent duplicates one runs and the
-- others wait; it then holds the answer. scope is who sent it ("user:<id>",
-- or "addr:<client address>" for an anonymous request), so nobody replays
-- another's answer; fingerprint is the sha256 of the method, path and body.
-- Rows are deleted 24 hours after created_at. Keys are binary so that they
-- compare byte for byte, case included.

-- +goose Up
CREATE TABLE idempotency_keys (
    scope       VARBINARY(128) NOT NULL,
    idem_key    VARBINARY(255) NOT NULL,
    fingerprint BINARY(32)     NOT NULL,
    claim       VARCHAR(32)    NOT NULL,
    status      INT            NOT NULL DEFAULT 0,
    headers     TEXT,
    body        LONGBLOB,
    created_at  DATETIME(6)    NOT NULL,
    claimed_at  DATETIME(6)    NOT NULL,
    PRIMARY KEY (scope, idem_key),
    KEY idempotency_keys_created_at_idx (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE idempotency_keys;
