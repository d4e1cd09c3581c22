-- Notes, their tags and their shares. A user's notes are listed newest first
-- by id through notes_user_id_idx (user_id, id); a title is unique per user
-- (notes_user_title_key), and a clash is a 409 naming "title". Titles and
-- tags use a binary collation so that they compare as on the other engines
-- (the table's _ci collation would fold case). Tags live in their own table
-- so that one query counts them per user (note_tags_tag_idx) and one batched
-- query reads the tags of a whole page. A share lets one other user read a
-- note; note_shares_user_id_key keeps it once per user and serves the list
-- of notes shared with a user.

-- +goose Up
CREATE TABLE notes (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id    BIGINT       NOT NULL,
    title      VARCHAR(200) COLLATE utf8mb4_bin NOT NULL,
    body       TEXT         NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    UNIQUE KEY notes_user_title_key (user_id, title),
    KEY notes_user_id_idx (user_id, id),
    CONSTRAINT notes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE note_tags (
    note_id BIGINT      NOT NULL,
    tag     VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (note_id, tag),
    KEY note_tags_tag_idx (tag, note_id),
    CONSTRAINT note_tags_note_id_fkey FOREIGN KEY (note_id) REFERENCES notes (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE note_shares (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    note_id    BIGINT      NOT NULL,
    user_id    BIGINT      NOT NULL,
    created_at DATETIME(6) NOT NULL,
    UNIQUE KEY note_shares_user_id_key (user_id, note_id),
    KEY note_shares_note_id_idx (note_id),
    CONSTRAINT note_shares_note_id_fkey FOREIGN KEY (note_id) REFERENCES notes (id) ON DELETE CASCADE,
    CONSTRAINT note_shares_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE note_shares;
DROP TABLE note_tags;
DROP TABLE notes;
