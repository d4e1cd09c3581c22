package notes

import (
	"context"
	"fmt"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

var _ Service = (*Store)(nil)

// Enqueuer inserts a job in the caller's transaction: a *jobs.Client.
type Enqueuer interface {
	EnqueueTx(ctx context.Context, tx jobs.Tx, args jobs.Args, opts *jobs.EnqueueOpts) (*jobs.Row, error)
}

// Store is the Service of a database, written once for SQLite, PostgreSQL
// and MySQL/MariaDB with sqldb's helpers: InTx and Read, whose queries take
// ? placeholders and time.Time values on every engine, ts(col) read by
// sqldb.Time, Insert, List, Conflict. Every value is a bind parameter.
type Store struct {
	db   *sqldb.DB
	jobs Enqueuer

	// Mail, if set, also sends the share notice by mail, in the share's
	// transaction.
	Mail *ShareMail
}

// NewStore returns the store of db, whose schema has Schema applied. Shares
// enqueue their notification job with jobs.
func NewStore(db *sqldb.DB, jobs Enqueuer) *Store {
	return &Store{db: db, jobs: jobs}
}

// noteCols are the columns scanNote reads, in order.
const noteCols = "id, user_id, title, body, ts(created_at), ts(updated_at), metadata"

func scanNote(r sqldb.Scanner) (*Note, error) {
	var n Note
	err := r.Scan(&n.ID, &n.UserID, &n.Title, &n.Body, sqldb.Time(&n.CreatedAt), sqldb.Time(&n.UpdatedAt), &n.Metadata)
	if err != nil {
		return nil, err
	}
	n.Tags, n.SharedWith = []string{}, []int64{}
	return &n, nil
}

// CreateNote inserts the note and its tags in one transaction.
func (s *Store) CreateNote(ctx context.Context, in NoteInput) (*Note, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in.Normalize()
	if err := in.Validate(true); err != nil {
		return nil, err
	}
	now := s.db.Timestamp()
	n := &Note{UserID: u.ID, Title: *in.Title, CreatedAt: now, UpdatedAt: now, Tags: []string{}, SharedWith: []int64{},
		Metadata: sqldb.JSON("{}")}
	if in.Body != nil {
		n.Body = *in.Body
	}
	if in.Metadata != nil {
		if n.Metadata, err = sqldb.CheckJSON(in.Metadata, MetadataLimits); err != nil {
			return nil, err
		}
	}
	if in.Tags != nil {
		n.Tags = *in.Tags
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		n.ID, err = s.db.Insert(ctx, tx, "INSERT INTO notes (user_id, title, body, created_at, updated_at, metadata) VALUES (?, ?, ?, ?, ?, ?)",
			n.UserID, n.Title, n.Body, now, now, n.Metadata)
		if err != nil {
			return sqldb.Conflict(err, "title")
		}
		return s.insertTags(ctx, tx, n.ID, n.Tags)
	})
	if err != nil {
		return nil, fmt.Errorf("create note: %w", err)
	}
	return n, nil
}

// insertTags inserts the tags of a note in one statement.
func (s *Store) insertTags(ctx context.Context, tx *sqldb.Tx, noteID int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]string, len(tags))
	args := make([]any, 0, 2*len(tags))
	for i, t := range tags {
		rows[i] = "(?, ?)"
		args = append(args, noteID, t)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO note_tags (note_id, tag) VALUES "+strings.Join(rows, ", "), args...)
	return err
}

// LoadNote returns a note whatever the caller, with its tags and shares,
// from the reader pool: what a cache in front of the store keeps. Errors:
// ENOTFOUND, EUNAVAILABLE.
func (s *Store) LoadNote(ctx context.Context, id int64) (*Note, error) {
	var n *Note
	err := s.db.Read(ctx, func(q sqldb.Querier) error {
		var err error
		n, err = scanNote(q.QueryRowContext(ctx, "SELECT "+noteCols+" FROM notes WHERE id = ?", id))
		if err != nil {
			return sqldb.NotFound(err, "Note")
		}
		return s.attach(ctx, q, []*Note{n})
	})
	if err != nil {
		return nil, fmt.Errorf("load note: %w", err)
	}
	return n, nil
}

// Note returns a note the caller may read.
func (s *Store) Note(ctx context.Context, id int64) (*Note, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.LoadNote(ctx, id)
	if err != nil {
		return nil, err
	}
	if !n.CanRead(u) {
		return nil, errNoteNotFound
	}
	return n, nil
}

var (
	errNoteNotFound = kura.Errorf(kura.ENOTFOUND, "Note not found.")
	errNotOwner     = kura.Errorf(kura.EFORBIDDEN, "Only the owner of a note may change or share it.")
)

// attach reads the tags and shares of notes with one query each, however
// many notes there are: no query per note (N+1).
func (s *Store) attach(ctx context.Context, q sqldb.Querier, notes []*Note) error {
	if len(notes) == 0 {
		return nil
	}
	byID := make(map[int64]*Note, len(notes))
	ids := make([]any, len(notes))
	for i, n := range notes {
		byID[n.ID], ids[i] = n, n.ID
	}
	in := sqldb.Placeholders(len(ids))
	tags, err := sqldb.QueryAll(ctx, s.db, q, scanPair[string],
		"SELECT note_id, tag FROM note_tags WHERE note_id IN ("+in+") ORDER BY note_id, tag", ids...)
	if err != nil {
		return err
	}
	for _, t := range tags {
		byID[t.note].Tags = append(byID[t.note].Tags, t.val)
	}
	shares, err := sqldb.QueryAll(ctx, s.db, q, scanPair[int64],
		"SELECT note_id, user_id FROM note_shares WHERE note_id IN ("+in+") ORDER BY note_id, user_id", ids...)
	if err != nil {
		return err
	}
	for _, sh := range shares {
		byID[sh.note].SharedWith = append(byID[sh.note].SharedWith, sh.val)
	}
	return nil
}

// pair is a note id and one value of the note's.
type pair[V any] struct {
	note int64
	val  V
}

func scanPair[V any](r sqldb.Scanner) (pair[V], error) {
	var p pair[V]
	err := r.Scan(&p.note, &p.val)
	return p, err
}

// own checks, in tx, that the caller owns the note: ENOTFOUND for a note
// that does not exist or that the caller may not read, EFORBIDDEN for one
// they may only read.
func (s *Store) own(ctx context.Context, tx *sqldb.Tx, u *kura.User, id int64) error {
	var owner int64
	err := tx.QueryRowContext(ctx, "SELECT user_id FROM notes WHERE id = ?", id).Scan(&owner)
	if err != nil {
		return sqldb.NotFound(err, "Note")
	}
	if owner == u.ID {
		return nil
	}
	var shared int
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM note_shares WHERE note_id = ? AND user_id = ?", id, u.ID).Scan(&shared)
	if err != nil {
		return err
	}
	if shared > 0 || u.Role == kura.RoleAdmin {
		return errNotOwner
	}
	return errNoteNotFound
}

// UpdateNote changes the given fields, and the tags as a whole, in one
// transaction.
func (s *Store) UpdateNote(ctx context.Context, id int64, in NoteInput) (*Note, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in.Normalize()
	if err := in.Validate(false); err != nil {
		return nil, err
	}
	sets, args := []string{"updated_at = ?"}, []any{s.db.Timestamp()}
	if in.Title != nil {
		sets, args = append(sets, "title = ?"), append(args, *in.Title)
	}
	if in.Body != nil {
		sets, args = append(sets, "body = ?"), append(args, *in.Body)
	}
	var n *Note
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.own(ctx, tx, u, id); err != nil {
			return err
		}
		if in.Metadata != nil {
			// Merged onto the stored document with the row locked: two
			// patches of different members both last.
			_, _, err := sqldb.PatchJSON(ctx, tx, sqldb.JSONPatch{Table: "notes", Column: "metadata", ID: id,
				Patch: in.Metadata, Limits: MetadataLimits, Object: true})
			if err != nil {
				return err
			}
		}
		q := "UPDATE notes SET " + strings.Join(sets, ", ") + " WHERE id = ?"
		if _, err := tx.ExecContext(ctx, q, append(args, id)...); err != nil {
			return sqldb.Conflict(err, "title")
		}
		if in.Tags != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM note_tags WHERE note_id = ?", id); err != nil {
				return err
			}
			if err := s.insertTags(ctx, tx, id, *in.Tags); err != nil {
				return err
			}
		}
		var err error
		if n, err = scanNote(tx.QueryRowContext(ctx, "SELECT "+noteCols+" FROM notes WHERE id = ?", id)); err != nil {
			return err
		}
		return s.attach(ctx, tx, []*Note{n})
	})
	if err != nil {
		return nil, fmt.Errorf("update note: %w", err)
	}
	return n, nil
}

// DeleteNote deletes the note; its tags and shares go with it (ON DELETE
// CASCADE).
func (s *Store) DeleteNote(ctx context.Context, id int64) error {
	u, err := caller(ctx)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.own(ctx, tx, u, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM notes WHERE id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete note: %w", err)
	}
	return nil
}

// ListNotes lists newest first with sqldb.List: the index on (user_id, id)
// serves the caller's own notes, and note_shares_user_id_key the notes
// shared with them, so a deep keyset page costs what the first does. The
// tags and shares of the page come in two more queries, whatever its size.
func (s *Store) ListNotes(ctx context.Context, shared bool, opt kura.ListOptions) (*kura.Page[*Note], error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	where := "user_id = ?"
	if shared {
		where = "id IN (SELECT note_id FROM note_shares WHERE user_id = ?)"
	}
	p, err := sqldb.List(ctx, s.db, opt, sqldb.NewestFirst[*Note]{
		Columns: noteCols, Table: "notes", Where: where, Args: []any{u.ID},
		Scan: scanNote, ID: func(n *Note) int64 { return n.ID },
	})
	if err == nil {
		err = s.db.Read(ctx, func(q sqldb.Querier) error { return s.attach(ctx, q, p.Items) })
	}
	if err != nil {
		return nil, fmt.Errorf("list notes: %w", err)
	}
	return p, nil
}

// TagCounts counts the caller's notes per tag in one GROUP BY.
func (s *Store) TagCounts(ctx context.Context) ([]TagCount, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var counts []TagCount
	err = s.db.Read(ctx, func(q sqldb.Querier) error {
		var err error
		counts, err = sqldb.QueryAll(ctx, s.db, q, func(r sqldb.Scanner) (TagCount, error) {
			var tc TagCount
			err := r.Scan(&tc.Tag, &tc.Count)
			return tc, err
		}, `SELECT t.tag, COUNT(*) FROM note_tags t JOIN notes n ON n.id = t.note_id
			WHERE n.user_id = ? GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag`, u.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count tags: %w", err)
	}
	return counts, nil
}

// ShareNote records the share and enqueues the job that tells the other
// user, and with Mail the notice by mail, in one transaction: the job and
// the mail exist if and only if the share does.
func (s *Store) ShareNote(ctx context.Context, id, withUserID int64) error {
	u, err := caller(ctx)
	if err != nil {
		return err
	}
	if withUserID == u.ID {
		return kura.FieldError(kura.EINVALID, "user_id", "must be another user")
	}
	if withUserID <= 0 {
		return kura.FieldError(kura.EINVALID, "user_id", "must be a positive id")
	}
	err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if err := s.own(ctx, tx, u, id); err != nil {
			return err
		}
		_, err := s.db.Insert(ctx, tx, "INSERT INTO note_shares (note_id, user_id, created_at) VALUES (?, ?, ?)",
			id, withUserID, s.db.Timestamp())
		switch {
		case sqldb.IsForeignKeyViolation(err):
			return kura.FieldError(kura.ENOTFOUND, "user_id", "is not a user")
		case sqldb.IsUniqueViolation(err):
			return &kura.Error{Code: kura.ECONFLICT, Message: "The note is already shared with this user.",
				Fields: map[string]string{"user_id": "already has this note"}}
		case err != nil:
			return err
		}
		if _, err = s.jobs.EnqueueTx(ctx, tx, SharedArgs{NoteID: id, UserID: withUserID, ByUserID: u.ID}, nil); err != nil || s.Mail == nil {
			return err
		}
		var title string
		if err := tx.QueryRowContext(ctx, "SELECT title FROM notes WHERE id = ?", id).Scan(&title); err != nil {
			return err
		}
		return s.Mail.sendTx(ctx, tx, id, withUserID, title, u)
	})
	if err != nil {
		return fmt.Errorf("share note: %w", err)
	}
	return nil
}
