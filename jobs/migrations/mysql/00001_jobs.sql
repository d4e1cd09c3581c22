-- The background job queue of package jobs on MySQL and MariaDB, which
-- have no River driver (PostgreSQL and SQLite use River's schema, created
-- by River's migrator: see schema.go). Workers take jobs with SELECT ... FOR UPDATE SKIP LOCKED on
-- kura_jobs_fetch_idx: fetch_priority is the priority of a job that may run
-- (available, scheduled or retryable) and NULL otherwise, so the index
-- holds the waiting jobs in the order they are taken and a fetch reads,
-- and locks, only the rows it takes (an index on state would make it sort
-- and lock every waiting job, and the other workers would find none).
-- unique_key makes periodic enqueues from several instances insert one
-- job per period; kura_jobs_finalized_idx serves pruning and counts.

-- +goose Up
CREATE TABLE IF NOT EXISTS kura_jobs (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind         VARCHAR(128) NOT NULL,
    queue        VARCHAR(128) NOT NULL DEFAULT 'default',
    args         JSON         NOT NULL,
    state        VARCHAR(16)  NOT NULL,
    priority     SMALLINT     NOT NULL DEFAULT 1,
    attempt      SMALLINT     NOT NULL DEFAULT 0,
    max_attempts SMALLINT     NOT NULL,
    errors       JSON         NULL,
    attempted_by VARCHAR(255) NULL,
    created_at   DATETIME(6)  NOT NULL,
    scheduled_at DATETIME(6)  NOT NULL,
    attempted_at DATETIME(6)  NULL,
    finalized_at DATETIME(6)  NULL,
    unique_key   VARCHAR(255) NULL,
    fetch_priority SMALLINT AS (CASE WHEN state IN ('available', 'scheduled', 'retryable') THEN priority END) STORED,
    UNIQUE KEY kura_jobs_unique_key (unique_key),
    KEY kura_jobs_fetch_idx (fetch_priority, scheduled_at, id),
    KEY kura_jobs_kind_idx (kind, id),
    KEY kura_jobs_finalized_idx (state, finalized_at),
    CONSTRAINT kura_jobs_state_check CHECK (state IN ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'discarded')),
    CONSTRAINT kura_jobs_attempts_check CHECK (max_attempts > 0 AND attempt >= 0),
    CONSTRAINT kura_jobs_priority_check CHECK (priority BETWEEN 1 AND 4)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE kura_jobs;
