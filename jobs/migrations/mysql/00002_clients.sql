-- kura_job_clients holds one row per started client with workers: its
-- heartbeat. The client writes it at start and every Config.Heartbeat,
-- with the database's clock (UTC_TIMESTAMP(6): seen_at, and expires_at
-- three beats later), and deletes it when it stops cleanly. A running job
-- whose holder (kura_jobs.attempted_by, the client's id) has a row past
-- expires_at belongs to a process that died: every client releases such
-- jobs (heartbeat.go).

-- +goose Up
CREATE TABLE IF NOT EXISTS kura_job_clients (
    id         VARCHAR(255) NOT NULL PRIMARY KEY,
    hostname   VARCHAR(255) NOT NULL,
    pid        INT          NOT NULL,
    started_at DATETIME(6)  NOT NULL,
    seen_at    DATETIME(6)  NOT NULL,
    expires_at DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE kura_job_clients;
