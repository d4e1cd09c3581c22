-- Notes, their tags and their shares. A user's notes are listed newest first
-- by id through notes_user_id_idx (user_id, id); a title is unique per user
-- (notes_user_title_key), and a clash is a 409 naming "title". Tags live in
-- their own table so that one query counts them per user (note_tags_tag_idx)
-- and one batched query reads the tags of a whole page. A share lets one
-- other user read a note; note_shares_user_id_key keeps it once per user and
-- serves the list of notes shared with a user.

-- +goose Up
CREATE TABLE notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text        NOT NULL,
    body       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT notes_user_title_key UNIQUE (user_id, title)
);
CREATE INDEX notes_user_id_idx ON notes (user_id, id);

CREATE TABLE note_tags (
    note_id bigint NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    tag     text   NOT NULL,
    PRIMARY KEY (note_id, tag)
);
CREATE INDEX note_tags_tag_idx ON note_tags (tag, note_id);

CREATE TABLE note_shares (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note_id    bigint      NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT note_shares_user_id_key UNIQUE (user_id, note_id)
);
CREATE INDEX note_shares_note_id_idx ON note_shares (note_id);

-- +goose Down
DROP TABLE note_shares;
DROP TABLE note_tags;
DROP TABLE notes;
