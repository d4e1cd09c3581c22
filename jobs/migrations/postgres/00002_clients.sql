-- kura_job_clients holds one row per started client with workers: its
-- heartbeat. The client writes it at start and every Config.Heartbeat,
-- with the database's clock (seen_at, and expires_at three beats later),
-- and deletes it when it stops cleanly. A running job whose holder (the
-- last entry of river_job.attempted_by, River's client ID, which the
-- client sets to its row's id) has a row past expires_at belongs to a
-- process that died: every client releases such jobs (heartbeat.go).

-- +goose Up
CREATE TABLE kura_job_clients (
    id         TEXT        PRIMARY KEY,
    hostname   TEXT        NOT NULL,
    pid        INTEGER     NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    seen_at    TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE kura_job_clients;
