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
    one        INTEGER  NOT NULL DEFAULT 1 PRIMARY KEY CHECK (one = 1),
    is_on      BOOLEAN  NOT NULL DEFAULT FALSE,
    reason     TEXT     NOT NULL DEFAULT '',
    changed_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    generation INTEGER  NOT NULL DEFAULT 0
);
INSERT INTO kura_read_only (one) VALUES (1);
ALTER TABLE kura_instances ADD COLUMN read_only_generation INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE kura_instances DROP COLUMN read_only_generation;
DROP TABLE kura_read_only;
