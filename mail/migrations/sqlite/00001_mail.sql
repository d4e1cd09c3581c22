-- kura_mail is the outbox of the mail package: one row per message, written
-- in the transaction of the change that causes it, with the job that
-- delivers it. idempotency_key is the event's key: a second message for one
-- event is not stored, so it is never sent twice. The bodies, which may hold
-- a flow's link and token, are emptied once the message is sent or has
-- failed for good. The index serves /health's count of recent failures.

-- +goose Up
CREATE TABLE kura_mail (
    id              INTEGER  PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT     NOT NULL UNIQUE,
    message_id      TEXT     NOT NULL,
    recipient       TEXT     NOT NULL,
    subject         TEXT     NOT NULL,
    text_body       TEXT     NOT NULL,
    html_body       TEXT     NOT NULL,
    state           TEXT     NOT NULL DEFAULT 'queued',
    attempts        INTEGER  NOT NULL DEFAULT 0,
    last_error      TEXT     NOT NULL DEFAULT '',
    created_at      DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    finished_at     DATETIME
);
CREATE INDEX kura_mail_state_idx ON kura_mail (state, finished_at);

-- +goose Down
DROP TABLE kura_mail;
