-- Read-only mode, the switch every instance sees without Redis: one row in
-- kura_read_only says whether writes are refused, why and since when, and
-- its generation, which every change of the switch raises. Each instance
-- reads it about once a second and, once it has applied a generation
-- (stopped accepting writes and let the writes under way finish, or
-- accepted them again), records it in its kura_instances row, so that
-- "kura db read-only on" returns only when every live instance has. "one"
-- holds the table to one row.

-- +goose Up
CREATE TABLE kura_read_only (
    one        TINYINT       NOT NULL DEFAULT 1 PRIMARY KEY,
    is_on      BOOLEAN       NOT NULL DEFAULT FALSE,
    reason     VARCHAR(1000) NOT NULL DEFAULT '',
    changed_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    generation BIGINT        NOT NULL DEFAULT 0,
    CONSTRAINT kura_read_only_one_check CHECK (one = 1)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
INSERT INTO kura_read_only (one) VALUES (1);
ALTER TABLE kura_instances ADD COLUMN read_only_generation BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE kura_instances DROP COLUMN read_only_generation;
DROP TABLE kura_read_only;
