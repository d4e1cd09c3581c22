-- The database's identity: one row with a random id, made when this
-- migration runs (on a new database with the others, on an older one at its
-- next migration). A backup records it as its source, and a restore refuses
-- to replace a database of another identity unless told so; a restored copy
-- keeps the identity of the database it was taken from. The column "one"
-- holds the table to one row. MySQL has no random bytes function on every
-- version kura supports: the id is a hash of a UUID, a random number and the
-- moment.

-- +goose Up
CREATE TABLE kura_database (
    one        TINYINT     NOT NULL DEFAULT 1 PRIMARY KEY,
    id         CHAR(32)    NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    CONSTRAINT kura_database_one_check CHECK (one = 1),
    UNIQUE KEY kura_database_id_key (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
INSERT INTO kura_database (id) VALUES (LOWER(LEFT(SHA2(CONCAT(UUID(), RAND(), CONNECTION_ID(), NOW(6)), 256), 32)));

-- +goose Down
DROP TABLE kura_database;
