-- Users. Email and username are unique case-insensitively through the
-- utf8mb4_unicode_ci collation of the table. Ids come from AUTO_INCREMENT, in
-- insertion order, so the primary key serves the newest-first listing and its
-- keyset (WHERE id < ? ORDER BY id DESC). updated_at is maintained by
-- ON UPDATE CURRENT_TIMESTAMP(6), which MySQL applies when a value changes.

-- +goose Up
CREATE TABLE users (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email         VARCHAR(254) NOT NULL,
    username      VARCHAR(32)  NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    role          VARCHAR(16)  NOT NULL DEFAULT 'user',
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    UNIQUE KEY users_email_key (email),
    UNIQUE KEY users_username_key (username)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE users;
