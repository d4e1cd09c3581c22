-- kura_mail is the outbox of the mail package: one row per message, written
-- in the transaction of the change that causes it, with the job that
-- delivers it. idempotency_key is the event's key: a second message for one
-- event is not stored, so it is never sent twice. The bodies, which may hold
-- a flow's link and token, are emptied once the message is sent or has
-- failed for good. The index serves /health's count of recent failures.

-- +goose Up
CREATE TABLE kura_mail (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key text        NOT NULL CONSTRAINT kura_mail_idempotency_key_key UNIQUE,
    message_id      text        NOT NULL,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    text_body       text        NOT NULL,
    html_body       text        NOT NULL,
    state           text        NOT NULL DEFAULT 'queued',
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX kura_mail_state_idx ON kura_mail (state, finished_at);

-- +goose Down
DROP TABLE kura_mail;
