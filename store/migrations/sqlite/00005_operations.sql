-- Operations. kura_instances holds one row per running kura server, written
-- when it starts serving, refreshed every HeartbeatInterval and deleted when
-- it stops: a restore over a database that a server has been seen serving
-- recently is refused. backup_runs records the outcome of every backup and
-- verify, for /health, doctor and the metrics of every instance.

-- +goose Up
CREATE TABLE kura_instances (
    id         TEXT     PRIMARY KEY,
    hostname   TEXT     NOT NULL,
    pid        INTEGER  NOT NULL,
    addr       TEXT     NOT NULL,
    version    TEXT     NOT NULL,
    started_at DATETIME NOT NULL,
    seen_at    DATETIME NOT NULL
);
CREATE TABLE backup_runs (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    name        TEXT     NOT NULL,
    started_at  DATETIME NOT NULL,
    ended_at    DATETIME NOT NULL,
    ok          BOOLEAN  NOT NULL,
    bytes       INTEGER  NOT NULL,
    duration    REAL     NOT NULL,
    problem     TEXT     NOT NULL,
    verified_at DATETIME,
    verified_ok BOOLEAN
);

-- +goose Down
DROP TABLE backup_runs;
DROP TABLE kura_instances;
