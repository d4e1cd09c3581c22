-- The database's identity: one row with a random id, made when this
-- migration runs (on a new database with the others, on an older one at its
-- next migration). A backup records it as its source, and a restore refuses
-- to replace a database of another identity unless told so; a restored copy
-- keeps the identity of the database it was taken from. "one" holds the
-- table to one row.

-- +goose Up
CREATE TABLE kura_database (
    one        INTEGER  NOT NULL DEFAULT 1 PRIMARY KEY CHECK (one = 1),
    id         TEXT     NOT NULL UNIQUE,
    created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
INSERT INTO kura_database (id) VALUES (lower(hex(randomblob(16))));

-- +goose Down
DROP TABLE kura_database;
