-- Account management. users.disabled (0 or 1) marks an account an admin or
-- the operator has disabled: it cannot log in, its sessions are ended, and
-- it cannot reset its password. The index on role serves the count of
-- active admins that every change able to remove one takes, locking their
-- rows (SELECT ... FOR UPDATE), so that two such changes cannot both see
-- another admin left.
--
-- audit_log records every administrative action (a role change, a disable,
-- an enable, a deletion by an admin, the end of a user's sessions by an
-- admin) in the action's own transaction: who (actor_id, the admin's id,
-- NULL for the operator at a shell; actor, the admin's username or
-- "operator:<OS user>"), what (action, target_id and a small JSON detail,
-- never a secret) and when. It has no foreign keys: an entry outlives the
-- accounts it names. It is listed newest first by id.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled smallint NOT NULL DEFAULT 0
    CONSTRAINT users_disabled_check CHECK (disabled IN (0, 1));
CREATE INDEX users_role_idx ON users (role);
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    target_id  bigint,
    detail     text        NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE audit_log;
DROP INDEX users_role_idx;
ALTER TABLE users DROP COLUMN disabled;
