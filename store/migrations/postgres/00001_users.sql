-- Users. Email and username are unique case-insensitively through unique
-- indexes on lower(), which the lookups use. Ids come from an identity
-- sequence, in insertion order, so the primary key serves the newest-first
-- listing and its keyset (WHERE id < $1 ORDER BY id DESC).

-- +goose Up
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    role          text        NOT NULL DEFAULT 'user' CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    -- now() is the transaction's time: one value for both columns of a new
    -- row (two clock_timestamp() calls could differ by a microsecond).
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- updated_at is maintained here, at least one microsecond past its old value.
-- +goose StatementBegin
CREATE FUNCTION kura_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at + interval '1 microsecond');
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION kura_set_updated_at();

-- +goose Down
DROP TABLE users;
DROP FUNCTION kura_set_updated_at();
