-- Users. Email and username are unique case-insensitively (COLLATE NOCASE on
-- the columns, so the unique indexes and the lookups use it). Ids come from
-- AUTOINCREMENT: never reused, assigned in insertion order, so the primary key
-- serves the newest-first listing and its keyset (WHERE id < ? ORDER BY id DESC).
-- Times are UTC text 'YYYY-MM-DD HH:MM:SS.SSS' (fixed width, so text order is
-- time order) in DATETIME columns, which the driver scans into time.Time.

-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL COLLATE NOCASE,
    username      TEXT    NOT NULL COLLATE NOCASE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    updated_at    DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_username_key ON users (username);

-- updated_at is maintained here: after any update that did not set it, move
-- it to now, and at least one millisecond past its old value so that an
-- update within the same millisecond as the previous change still moves it.
-- +goose StatementBegin
CREATE TRIGGER users_updated_at AFTER UPDATE ON users FOR EACH ROW
WHEN NEW.updated_at = OLD.updated_at
BEGIN
    UPDATE users SET updated_at = max(
        strftime('%Y-%m-%d %H:%M:%f', 'now'),
        strftime('%Y-%m-%d %H:%M:%f', OLD.updated_at, '+0.001 seconds'))
    WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_updated_at;
DROP TABLE users;
