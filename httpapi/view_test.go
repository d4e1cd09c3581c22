package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kura-dev/kura"
)

// FuzzUserJSON checks the hand-written user encoding against encoding/json.
func FuzzUserJSON(f *testing.F) {
	for _, s := range []string{"ann", "a\"b\\c", "<script>&", "\u2028\u2029", "\x00\x1f\x7f", "\xff\xfe", "日本語", "é\xc3"} {
		f.Add(s, s, int64(42), int64(1700000000123456789))
	}
	f.Fuzz(func(t *testing.T, email, username string, id, nanos int64) {
		at := time.Unix(0, nanos).In(time.FixedZone("X", -7200))
		u := &kura.User{ID: id, Email: email, Username: username, Role: kura.Role(username), CreatedAt: at, UpdatedAt: at.Add(time.Nanosecond)}
		if nanos%2 == 0 {
			u.EmailVerifiedAt = at.Add(time.Microsecond)
		}
		for _, private := range []bool{false, true} {
			got := string(userJSON{u: u, private: private}.appendJSON(nil))
			want, err := json.Marshal(reference(u, private))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("private=%v\n got %s\nwant %s", private, got, want)
			}
		}
	})
}

// reference returns the struct encoding/json encodes like userJSON.
func reference(u *kura.User, private bool) any {
	if !private {
		return struct {
			ID        int64     `json:"id"`
			Username  string    `json:"username"`
			CreatedAt time.Time `json:"created_at"`
		}{u.ID, u.Username, u.CreatedAt.UTC()}
	}
	return struct {
		ID        int64      `json:"id"`
		Email     string     `json:"email"`
		Username  string     `json:"username"`
		Role      kura.Role  `json:"role"`
		Disabled  bool       `json:"disabled,omitempty"`
		CreatedAt time.Time  `json:"created_at"`
		UpdatedAt time.Time  `json:"updated_at"`
		Verified  *time.Time `json:"email_verified_at"`
	}{u.ID, u.Email, u.Username, u.Role, u.Disabled, u.CreatedAt.UTC(), u.UpdatedAt.UTC(), verifiedAt(u)}
}

// verifiedAt is the view's email_verified_at: null when not verified.
func verifiedAt(u *kura.User) *time.Time {
	if u.EmailVerifiedAt.IsZero() {
		return nil
	}
	t := u.EmailVerifiedAt.UTC()
	return &t
}
