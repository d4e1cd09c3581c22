package httpapi

import (
	"strconv"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/jsonstr"
)

// userJSON is the JSON view of a user: public {id, username, created_at},
// or private, adding email, role, disabled (only when true), updated_at
// and profile (when read). It encodes itself without
// reflection because it is on the hottest path of the API.
type userJSON struct {
	u       *kura.User
	private bool
}

// userView returns the view of u that viewer (nil when anonymous) may see:
// private to the user themself and to admins.
func userView(viewer, u *kura.User) userJSON {
	return userJSON{u: u, private: viewer.CanModify(u.ID)}
}

// MarshalJSON implements json.Marshaler, for views nested in other bodies.
func (v userJSON) MarshalJSON() ([]byte, error) { return v.appendJSON(nil), nil }

// appendJSON appends the view as a JSON object, in the same bytes
// encoding/json would produce for the equivalent struct.
func (v userJSON) appendJSON(b []byte) []byte {
	u := v.u
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, u.ID, 10)
	if v.private {
		b = append(b, `,"email":`...)
		b = appendString(b, u.Email)
	}
	b = append(b, `,"username":`...)
	b = appendString(b, u.Username)
	if v.private {
		b = append(b, `,"role":`...)
		b = appendString(b, string(u.Role))
		if u.Disabled {
			b = append(b, `,"disabled":true`...)
		}
	}
	b = append(b, `,"created_at":`...)
	b = appendTime(b, u.CreatedAt)
	if v.private {
		b = append(b, `,"updated_at":`...)
		b = appendTime(b, u.UpdatedAt)
		b = append(b, `,"email_verified_at":`...)
		if u.EmailVerifiedAt.IsZero() {
			b = append(b, "null"...)
		} else {
			b = appendTime(b, u.EmailVerifiedAt)
		}
		if u.Profile != nil {
			// The document as the store read it: valid JSON, in canonical
			// form but on PostgreSQL, whose jsonb has its own spacing.
			b = append(b, `,"profile":`...)
			b = append(b, u.Profile...)
		}
	}
	return append(b, '}')
}

// appendTime appends t in UTC as a quoted RFC 3339 string with as many
// fractional digits as t has, like time.Time's MarshalJSON.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString appends s as a JSON string, escaped as encoding/json does.
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, jsonstr.JSON) }
