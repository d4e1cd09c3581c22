package kura

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits of a user's profile document (User.Profile), checked by the
// store on the document a merge patch produces.
const (
	MaxProfileBytes  = 8 << 10 // the canonical JSON text
	MaxProfileDepth  = 4       // {"prefs":{"theme":{"dark":true}}} is 3
	MaxProfileKeys   = 64      // object members in the whole document
	MaxProfileString = 1000    // bytes of any one string or key
	MaxProfileItems  = 20      // elements of any one array
	MaxProfileURLLen = 2048    // bytes of avatar_url and of each link
	MaxProfileCity   = 100     // characters of city, the field the user list filters by
)

// ProfileFilters are the profile fields the user list can filter by
// (ListOptions.Filter), each indexed on every engine.
var ProfileFilters = []string{"profile.city"}

// CheckProfile checks the fields of a profile document that the server
// gives a meaning to, once the document is within the limits: avatar_url
// an http or https URL, links an array of them, city a string of at most
// MaxProfileCity characters (it is indexed), bio a string. Other members
// are free-form. doc is the decoded document (objects as map[string]any).
// Errors: EINVALID naming each bad field as "profile.<name>".
func CheckProfile(doc any) error {
	m, ok := doc.(map[string]any)
	if !ok {
		return FieldError(EINVALID, "profile", "must be a JSON object")
	}
	fields := map[string]string{}
	if v, ok := m["avatar_url"]; ok {
		setIf(fields, "profile.avatar_url", checkWebURL(v))
	}
	if v, ok := m["links"]; ok {
		links, ok := v.([]any)
		if !ok {
			fields["profile.links"] = "must be an array of http or https URLs"
		}
		for _, l := range links {
			if msg := checkWebURL(l); msg != "" {
				fields["profile.links"] = "each " + msg
				break
			}
		}
	}
	if v, ok := m["city"]; ok {
		s, ok := v.(string)
		if !ok || utf8.RuneCountInString(s) > MaxProfileCity {
			fields["profile.city"] = "must be a string of at most 100 characters"
		}
	}
	if v, ok := m["bio"]; ok {
		if _, ok := v.(string); !ok {
			fields["profile.bio"] = "must be a string"
		}
	}
	return invalid(fields)
}

// checkWebURL says what is wrong with v as an absolute http or https URL,
// or "".
func checkWebURL(v any) string {
	const msg = "must be an absolute http or https URL"
	s, ok := v.(string)
	if !ok || len(s) > MaxProfileURLLen || strings.ContainsAny(s, " \t\r\n") {
		return msg
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return msg
	}
	return ""
}

// ETag returns the entity tag of the user as stored: a strong, quoted tag
// hashed from the id and updated_at, which the database moves on every
// change of the row (profile included). It comes from the row, not from
// memory, so every instance, and a cached copy of the user, gives the
// same tag for the same version.
func (u *User) ETag() string {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(u.ID))
	binary.BigEndian.PutUint64(b[8:], uint64(u.UpdatedAt.UnixNano()))
	h.Write(b[:])
	var out [18]byte
	out[0], out[17] = '"', '"'
	hex.Encode(out[1:17], h.Sum(nil))
	return string(out[:])
}

// Precondition is an If-Match condition on a write: the write happens
// only if the stored row's ETag is one of Tags. The zero Precondition is
// no condition.
type Precondition struct {
	Tags []string // quoted strong tags, as ETag returns them
}

// Set reports whether there is a condition.
func (p Precondition) Set() bool { return len(p.Tags) > 0 }

// Check returns EPRECONDITION unless u's ETag is one of the tags (or
// there is no condition).
func (p Precondition) Check(u *User) error {
	if !p.Set() {
		return nil
	}
	tag := u.ETag()
	for _, t := range p.Tags {
		if t == tag {
			return nil
		}
	}
	return ErrPreconditionFailed()
}

// ErrPreconditionFailed is the EPRECONDITION error of a write whose
// If-Match no longer matches the stored user.
func ErrPreconditionFailed() *Error {
	return Errorf(EPRECONDITION, "The user has changed since you read it; read it again and retry.")
}

// ConditionalUserDeleter is what a UserService may also offer: a deletion
// that happens only if the stored user still matches p, checked with the
// row locked. httpapi uses it for DELETE with If-Match.
// Errors: ENOTFOUND, EPRECONDITION, EUNAVAILABLE.
type ConditionalUserDeleter interface {
	DeleteUserIf(ctx context.Context, id int64, p Precondition) error
}
