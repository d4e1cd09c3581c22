package backup_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
)

// profilePatches are profiles a dump must carry exactly: escapes, text
// beyond the BMP, line and paragraph separators, numbers whose text an
// engine could rewrite, nesting, and a document near the size limit.
var profilePatches = []string{
	`{}`,
	`{"bio":"quotes \" and \\ backslash, tab\t, NUL-free, <\/script>, 'single'","city":"東京"}`,
	`{"bio":"emoji 🦊, \u2028 and \u2029, é composed and e\u0301 combined","links":["https://a.example/?q=1&r=%27"]}`,
	`{"n":1e21,"x":0.50,"neg":-0,"big":12345678901234567890,"small":1E-7,"prefs":{"deep":{"er":[true,false,null]}}}`,
	`{"bio":"` + strings.Repeat("long ", 190) + `","avatar_url":"http://img.example/a.png"}`,
}

// profilesOf returns every user's profile as stored (the engine's text)
// and in canonical form, by id.
func profilesOf(t *testing.T, db *sqldb.DB) (raw, canon map[int64]string) {
	t.Helper()
	raw, canon = map[int64]string{}, map[int64]string{}
	rows, err := db.Reader().Query("SELECT id, profile FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var doc sqldb.JSON
		if err := rows.Scan(&id, &doc); err != nil {
			t.Fatal(err)
		}
		c, err := sqldb.CanonicalJSON(doc)
		if err != nil {
			t.Fatalf("user %d's profile %s: %v", id, doc, err)
		}
		raw[id], canon[id] = string(doc), string(c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return raw, canon
}

// TestCreateVerifyRestore_Profiles backs up users with profile documents
// on each engine, verifies the backup and restores it: every profile comes
// back as the engine stored it, byte for byte, and so in the same
// canonical JSON, and every user's ETag is the same (updated_at too).
func TestCreateVerifyRestore_Profiles(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		db := mustOpen(t, url, 0)
		users := accounts.NewUserService(db)
		var ids []int64
		for i, patch := range profilePatches {
			u, err := users.CreateUser(ctx, kura.NewUser{Email: fmt.Sprintf("p%d@example.com", i), Username: fmt.Sprintf("profiled%d", i), Password: "password-1"})
			if err != nil {
				t.Fatal(err)
			}
			if u, err = users.UpdateUser(ctx, u.ID, kura.UserUpdate{Profile: []byte(patch)}); err != nil {
				t.Fatalf("profile %.40s: %v %v", patch, err, kura.ErrorFields(err))
			}
			ids = append(ids, u.ID)
		}
		// A document in an engine's own text, not the store's canonical form.
		if _, err := db.Writer().ExecContext(ctx, db.Rebind(`UPDATE users SET profile = ? WHERE id = ?`),
			`{"z": 1.0, "a": [ 2E2, "\u00e9" ]}`, ids[0]); err != nil {
			t.Fatal(err)
		}
		tags := etags(t, db, ids)
		wantRaw, wantCanon := profilesOf(t, db)
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := backup.Verify(ctx, m, cfg); err != nil || !c.OK {
			t.Fatalf("verify: %+v, %v", c, err)
		}
		to := e.url(t)
		if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to}); err != nil {
			t.Fatal(err)
		}
		restored := mustOpen(t, to, 0)
		gotRaw, gotCanon := profilesOf(t, restored)
		if len(gotRaw) != len(wantRaw) {
			t.Fatalf("restored %d profiles, want %d", len(gotRaw), len(wantRaw))
		}
		for id, want := range wantRaw {
			if gotRaw[id] != want || gotCanon[id] != wantCanon[id] {
				t.Errorf("user %d's profile:\n got %s (canonical %s)\nwant %s (canonical %s)", id, gotRaw[id], gotCanon[id], want, wantCanon[id])
			}
		}
		for id, tag := range etags(t, restored, ids) {
			if tag != tags[id] {
				t.Errorf("user %d's ETag after the restore %s; want %s", id, tag, tags[id])
			}
		}
	})
}

// etags returns the ETags of the users by id.
func etags(t *testing.T, db *sqldb.DB, ids []int64) map[int64]string {
	t.Helper()
	out := map[int64]string{}
	users := accounts.NewUserService(db)
	for _, id := range ids {
		u, err := users.FindUserByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out[id] = u.ETag()
	}
	return out
}
