-- Account management. users.disabled (0 or 1) marks an account an admin or
-- the operator has disabled: it cannot log in, its sessions are ended, and
-- it cannot reset its password. The index on role serves the count of
-- active admins that every change able to remove one takes, locking their
-- index records (SELECT ... FOR UPDATE, next-key locks), so that two such
-- changes cannot both see another admin left.
--
-- audit_log records every administrative action (a role change, a disable,
-- an enable, a deletion by an admin, the end of a user's sessions by an
-- admin) in the action's own transaction: who (actor_id, the admin's id,
-- NULL for the operator at a shell; actor, the admin's username or
-- "operator:<OS user>"), what (action, target_id and a small JSON detail,
-- never a secret) and when. It has no foreign keys: an entry outlives the
-- accounts it names. It is listed newest first by id.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled TINYINT NOT NULL DEFAULT 0,
    ADD CONSTRAINT users_disabled_check CHECK (disabled IN (0, 1)),
    ADD KEY users_role_idx (role);
CREATE TABLE audit_log (
    id         BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    created_at DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    actor_id   BIGINT,
    actor      VARCHAR(300)  NOT NULL,
    action     VARCHAR(50)   NOT NULL,
    target_id  BIGINT,
    detail     VARCHAR(2000) NOT NULL DEFAULT '{}'
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE audit_log;
ALTER TABLE users DROP CONSTRAINT users_disabled_check, DROP KEY users_role_idx, DROP COLUMN disabled;
