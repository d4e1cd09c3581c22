-- Notes, their tags and their shares. A user's notes are listed newest first
-- by id through notes_user_id_idx (user_id, id); a title is unique per user
-- (notes_user_title_key), and a clash is a 409 naming "title". Tags live in
-- their own table so that one query counts them per user (note_tags_tag_idx)
-- and one batched query reads the tags of a whole page. A share lets one
-- other user read a note; note_shares_user_id_key keeps it once per user and
-- serves the list of notes shared with a user.

-- +goose Up
CREATE TABLE notes (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT     NOT NULL,
    body       TEXT     NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX notes_user_id_idx ON notes (user_id, id);
CREATE UNIQUE INDEX notes_user_title_key ON notes (user_id, title);

CREATE TABLE note_tags (
    note_id INTEGER NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    tag     TEXT    NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_tag_idx ON note_tags (tag, note_id);

CREATE TABLE note_shares (
    id         INTEGER  PRIMARY KEY AUTOINCREMENT,
    note_id    INTEGER  NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX note_shares_user_id_key ON note_shares (user_id, note_id);
CREATE INDEX note_shares_note_id_idx ON note_shares (note_id);

-- +goose Down
DROP TABLE note_shares;
DROP TABLE note_tags;
DROP TABLE notes;
