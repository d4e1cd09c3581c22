-- kura_mail is the outbox of the mail package: one row per message, written
-- in the transaction of the change that causes it, with the job that
-- delivers it. idempotency_key is the event's key: a second message for one
-- event is not stored, so it is never sent twice (VARBINARY, so that keys
-- compare byte for byte as on the other engines). The bodies, which may hold
-- a flow's link and token, are emptied once the message is sent or has
-- failed for good. The index serves /health's count of recent failures.

-- +goose Up
CREATE TABLE kura_mail (
    id              BIGINT         NOT NULL AUTO_INCREMENT PRIMARY KEY,
    idempotency_key VARBINARY(800) NOT NULL,
    message_id      VARCHAR(255)   NOT NULL,
    recipient       VARCHAR(1000)  NOT NULL,
    subject         VARCHAR(1000)  NOT NULL,
    text_body       MEDIUMTEXT     NOT NULL,
    html_body       MEDIUMTEXT     NOT NULL,
    state           VARCHAR(20)    NOT NULL DEFAULT 'queued',
    attempts        INT            NOT NULL DEFAULT 0,
    last_error      TEXT           NOT NULL,
    created_at      DATETIME(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    finished_at     DATETIME(6)    NULL,
    UNIQUE KEY kura_mail_idempotency_key_key (idempotency_key),
    KEY kura_mail_state_idx (state, finished_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE kura_mail;
