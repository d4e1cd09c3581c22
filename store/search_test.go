package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestUsers_SearchUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for _, u := range [][2]string{
			{"anna@example.com", "Anna"}, {"annabel@example.com", "annabel"}, {"ann_x@example.com", "ann_x"},
			{"annex@example.com", "AnnEx"}, {"bob@example.com", "bob"}, {"an%n@example.com", "an_percent"},
		} {
			MustCreateUser(t, db, u[0], u[1])
		}
		users := store.NewUsers(db)
		names := func(by, prefix, after string, limit int) string {
			t.Helper()
			got, err := users.SearchUsers(ctx, by, prefix, after, limit)
			if err != nil {
				t.Fatalf("search %s %q: %v", by, prefix, err)
			}
			var out []string
			for _, u := range got {
				out = append(out, u.Username)
			}
			return strings.Join(out, " ")
		}
		for _, c := range []struct{ by, prefix, after, want string }{
			{"email", "ANN", "", "ann_x Anna annabel AnnEx"},    // case-insensitive, in code point order
			{"email", "ann_", "", "ann_x"},                      // _ is no wildcard
			{"email", "an%", "", "an_percent"},                  // nor is %
			{"username", "ann", "", "ann_x Anna annabel AnnEx"}, // lower-cased order
			{"username", "ann", "anna", "annabel AnnEx"},        // after a key: the next page
			{"username", "zzz", "", ""},                         // none
			{"email", "", "", "an_percent ann_x Anna annabel"},  // everyone, limited
		} {
			if got := names(c.by, c.prefix, c.after, 4); got != c.want {
				t.Errorf("search %s %q after %q = %q, want %q", c.by, c.prefix, c.after, got, c.want)
			}
		}
		if _, err := users.SearchUsers(ctx, "password_hash", "a", "", 4); kura.ErrorCode(err) != kura.EINVALID {
			t.Fatalf("search by another column: %v, want EINVALID", err)
		}
	})
}
