-- Account management. users.disabled (0 or 1) marks an account an admin or
-- the operator has disabled: it cannot log in, its sessions are ended, and
-- it cannot reset its password. The index on role serves the count of
-- active admins that every change able to remove one takes in its
-- transaction; SQLite's one writer serializes those changes.
--
-- audit_log records every administrative action (a role change, a disable,
-- an enable, a deletion by an admin, the end of a user's sessions by an
-- admin) in the action's own transaction: who (actor_id, the admin's id,
-- NULL for the operator at a shell; actor, the admin's username or
-- "operator:<OS user>"), what (action, target_id and a small JSON detail,
-- never a secret) and when. It has no foreign keys: an entry outlives the
-- accounts it names. It is listed newest first by id.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
CREATE INDEX users_role_idx ON users (role);
CREATE TABLE audit_log (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    actor_id   INTEGER,
    actor      TEXT     NOT NULL,
    action     TEXT     NOT NULL,
    target_id  INTEGER,
    detail     TEXT     NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE audit_log;
DROP INDEX users_role_idx;
ALTER TABLE users DROP COLUMN disabled;
