-- Operations. kura_instances holds one row per running kura server, written
-- when it starts serving, refreshed every HeartbeatInterval and deleted when
-- it stops: a restore over a database that a server has been seen serving
-- recently is refused. backup_runs records the outcome of every backup and
-- verify, for /health, doctor and the metrics of every instance.

-- +goose Up
CREATE TABLE kura_instances (
    id         VARCHAR(64)  NOT NULL PRIMARY KEY,
    hostname   VARCHAR(255) NOT NULL,
    pid        INT          NOT NULL,
    addr       VARCHAR(255) NOT NULL,
    version    VARCHAR(100) NOT NULL,
    started_at DATETIME(6)  NOT NULL,
    seen_at    DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
CREATE TABLE backup_runs (
    id          BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(255)  NOT NULL,
    started_at  DATETIME(6)   NOT NULL,
    ended_at    DATETIME(6)   NOT NULL,
    ok          BOOLEAN       NOT NULL,
    bytes       BIGINT        NOT NULL,
    duration    DOUBLE        NOT NULL,
    problem     VARCHAR(2000) NOT NULL,
    verified_at DATETIME(6),
    verified_ok BOOLEAN
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE backup_runs;
DROP TABLE kura_instances;
