// Package notes is an example application built only on kura's exported
// packages: a user's notes, with a title, a body and tags, that can be
// shared with other users. It has its own tables and migrations (applied
// after kura's), its own store written once for SQLite, PostgreSQL and
// MariaDB with sqldb's helpers, a cached read through package cache, a job
// of its own (telling a user a note was shared with them) enqueued in the
// share's transaction, and routes mounted on kura's HTTP server behind its
// middleware, bearer authentication and error shape.
//
// docs/BUILDING.md walks through how it is built; cmd/notes is its main.
package notes

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// Note is one note of a user.
type Note struct {
	ID        int64
	UserID    int64 // its owner
	Title     string
	Body      string
	Tags      []string // sorted, lower case
	CreatedAt time.Time
	UpdatedAt time.Time

	// Metadata is the note's free-form document, a JSON object ({} for
	// none), stored with sqldb's document toolkit (see MetadataLimits).
	Metadata sqldb.JSON

	// SharedWith are the ids of the users who may read the note besides
	// its owner, in ascending order.
	SharedWith []int64
}

// CanRead reports whether the user may read the note: its owner, a user
// it is shared with, or an admin.
func (n *Note) CanRead(u *kura.User) bool {
	return u != nil && (u.ID == n.UserID || u.Role == kura.RoleAdmin || slices.Contains(n.SharedWith, u.ID))
}

// Limits of a note's fields.
const (
	MaxTitleLen = 200   // characters
	MaxBodyLen  = 20000 // characters
	MaxTags     = 10
	MaxTagLen   = 32
)

// MetadataLimits bound a note's metadata document.
var MetadataLimits = sqldb.JSONLimits{Field: "metadata", MaxBytes: 4096, MaxDepth: 3, MaxKeys: 32, MaxString: 500, MaxItems: 20}

// NoteInput is the content of a new note, or the fields to change of an
// existing one (nil leaves a field as it is).
type NoteInput struct {
	Title *string
	Body  *string
	Tags  *[]string
	// Metadata is the metadata of a new note, or a JSON Merge Patch (RFC
	// 7396) of an existing note's: a JSON object either way.
	Metadata json.RawMessage
}

// tagPattern is what a tag may be: lower-case letters, digits and dashes.
var tagPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Normalize trims the title, lower-cases, sorts and de-duplicates the tags.
func (in *NoteInput) Normalize() {
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		in.Title = &t
	}
	if in.Tags != nil {
		tags := make([]string, 0, len(*in.Tags))
		for _, t := range *in.Tags {
			tags = append(tags, strings.ToLower(strings.TrimSpace(t)))
		}
		slices.Sort(tags)
		tags = slices.Compact(tags)
		in.Tags = &tags
	}
}

// Validate checks a normalized input; create requires a title. It returns
// a kura.Error with code EINVALID naming each bad field.
func (in *NoteInput) Validate(create bool) error {
	fields := map[string]string{}
	switch {
	case in.Title == nil && create, in.Title != nil && *in.Title == "":
		fields["title"] = "is required"
	case in.Title != nil && utf8.RuneCountInString(*in.Title) > MaxTitleLen:
		fields["title"] = "must be at most 200 characters"
	}
	if in.Title != nil && !validText(*in.Title) {
		fields["title"] = "must be valid UTF-8 without NUL characters"
	}
	if in.Body != nil && utf8.RuneCountInString(*in.Body) > MaxBodyLen {
		fields["body"] = "must be at most 20000 characters"
	} else if in.Body != nil && !validText(*in.Body) {
		fields["body"] = "must be valid UTF-8 without NUL characters"
	}
	if in.Tags != nil {
		if len(*in.Tags) > MaxTags {
			fields["tags"] = "must be at most 10 tags"
		}
		for _, t := range *in.Tags {
			if len(t) > MaxTagLen || !tagPattern.MatchString(t) {
				fields["tags"] = "must be 1 to 32 lower-case letters, digits or dashes each"
			}
		}
	}
	if in.Metadata != nil && !bytes.HasPrefix(bytes.TrimSpace(in.Metadata), []byte("{")) {
		fields["metadata"] = "must be a JSON object"
	}
	if !create && in.Title == nil && in.Body == nil && in.Tags == nil && in.Metadata == nil {
		return kura.Errorf(kura.EINVALID, "Give at least one of title, body, tags and metadata.")
	}
	if len(fields) > 0 {
		return &kura.Error{Code: kura.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	return nil
}

// validText reports whether s can be stored as text on every engine.
func validText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// TagCount is how many of a user's notes carry a tag.
type TagCount struct {
	Tag   string
	Count int64
}

// Service is what the routes need of the notes: the store, or a cache in
// front of it. The caller comes from the context (kura.UserFromContext);
// every method checks that the caller may do what is asked.
type Service interface {
	// CreateNote makes a note of the caller. Errors: EINVALID, ECONFLICT
	// naming "title" (the caller has a note of that title).
	CreateNote(ctx context.Context, in NoteInput) (*Note, error)
	// Note returns a note the caller may read. Errors: ENOTFOUND (also
	// for a note the caller may not read, so its existence is not told).
	Note(ctx context.Context, id int64) (*Note, error)
	// UpdateNote changes a note of the caller. Errors: ENOTFOUND,
	// EFORBIDDEN (a note shared with the caller), EINVALID, ECONFLICT.
	UpdateNote(ctx context.Context, id int64, in NoteInput) (*Note, error)
	// DeleteNote deletes a note of the caller. Errors: ENOTFOUND, EFORBIDDEN.
	DeleteNote(ctx context.Context, id int64) error
	// ListNotes returns the caller's notes, newest first; with shared,
	// the notes shared with the caller instead. Errors: EINVALID.
	ListNotes(ctx context.Context, shared bool, opt kura.ListOptions) (*kura.Page[*Note], error)
	// TagCounts counts the caller's notes per tag, most used first.
	TagCounts(ctx context.Context) ([]TagCount, error)
	// ShareNote lets another user read a note of the caller and tells
	// them so, off the request path. Errors: ENOTFOUND (the note, or the
	// user), EFORBIDDEN, EINVALID (sharing with oneself), ECONFLICT
	// (already shared with that user).
	ShareNote(ctx context.Context, id, withUserID int64) error
}

// caller returns the user of ctx, or EUNAUTHORIZED.
func caller(ctx context.Context) (*kura.User, error) {
	if u := kura.UserFromContext(ctx); u != nil {
		return u, nil
	}
	return nil, kura.Errorf(kura.EUNAUTHORIZED, "Sign in first.")
}
