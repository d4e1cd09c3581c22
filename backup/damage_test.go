package backup_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// rowData finds what the tests' users rows hold that must never reach an
// error, a log or a manifest: an email or a password hash.
var rowData = regexp.MustCompile(`@example\.com|\$argon2id\$`)

// TestRestore_DamagedInARow restores a backup damaged in one row in the
// middle of the users table, with a sha256 and size recomputed to match
// its manifest (so only the load finds it): the first half of the rows
// load, then the load fails. The target keeps its old content, the error
// says so, and neither the error, the log nor a verify's problem in the
// manifest quotes an email or a password hash.
func TestRestore_DamagedInARow(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		srcURL := e.url(t)
		mustOpen(t, srcURL, 3000).Close()
		cfg := config(t, srcURL)
		var logs testenv.LogBuffer
		cfg.Logger = newLogger(&logs)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		damageInARow(t, e, m, srcURL)

		to := e.url(t)
		mustOpen(t, to, 2000).Close()
		old, err := backup.ReadTables(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		restoreErr := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to, Force: true, OtherDatabase: true})
		if restoreErr == nil {
			t.Fatal("a backup damaged in a row restored")
		}
		t.Logf("the error: %v", restoreErr)
		if !strings.Contains(restoreErr.Error(), "the target database is as it was") {
			t.Errorf("the error does not say the target is as it was: %v", restoreErr)
		}
		if got := contentOf(t, to, old, m.Tables); got != "old" {
			t.Fatalf("after a failed restore the target holds %s", got)
		}
		c, err := backup.Verify(ctx, m, cfg)
		if err != nil || c.OK {
			t.Fatalf("verify of a backup damaged in a row: %v %+v", err, c)
		}
		t.Logf("the verify's problem: %s", c.Problem)
		manifest, _ := os.ReadFile(filepath.Join(cfg.Dir, m.Name+".json"))
		for what, s := range map[string]string{"restore's error": restoreErr.Error(), "log": logs.String(), "manifest": string(manifest)} {
			if rowData.MatchString(s) {
				t.Errorf("the %s quotes row data: %s", what, rowData.FindString(s))
			}
		}
		if e.d == sqldb.MySQL {
			if dead := deadRestores(t, to); len(dead) > 0 {
				t.Errorf("a failed restore left %v", dead)
			}
		}
	})
}

// damageInARow damages the backup m in one users row half-way through,
// and makes its manifest's size and sha256 match again.
func damageInARow(t *testing.T, e engine, m *backup.Manifest, srcURL string) {
	t.Helper()
	switch e.d {
	case sqldb.SQLite:
		// A byte of an email in the file: its index no longer matches.
		raw := gunzipFile(t, m.Path())
		i := bytes.Index(raw, []byte("-1500@example.com"))
		if i < 0 {
			t.Fatal("no row 1500 in the snapshot")
		}
		raw[i+1] = '9'
		writeGzip(t, m.Path(), raw)
	case sqldb.MySQL:
		// The users INSERT split in two at row 1500, the second half's
		// first email without its opening quote: a syntax error after
		// half the rows were inserted.
		dump := string(gunzipFile(t, m.Path()))
		row := regexp.MustCompile(`\(\d+,'(seed-[0-9a-f]+-1500@example\.com)'`).FindStringSubmatchIndex(dump)
		if row == nil {
			t.Fatal("no row 1500 in the dump")
		}
		start := row[0]
		sep := strings.LastIndex(dump[:start], ",")
		dump = dump[:sep] + ";\nINSERT INTO `users` VALUES " + dump[start:row[2]-1] + dump[row[2]:]
		writeGzip(t, m.Path(), []byte(dump))
	case sqldb.Postgres:
		// An archive without compression, of the same content, whose row
		// 1500 starts with a letter where its id is: COPY fails there.
		copyURL := e.url(t)
		restore := exec.Command(testenv.Tool(t, "pg_restore", "postgresql-client"), "--no-owner", "--no-acl", "--dbname="+copyURL, m.Path())
		if out, err := restore.CombinedOutput(); err != nil {
			t.Fatalf("pg_restore: %v %s", err, out)
		}
		raw, err := exec.Command(testenv.Tool(t, "pg_dump", "postgresql-client"), "--format=custom", "--compress=0", "--dbname="+copyURL).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		i := bytes.Index(raw, []byte("-1500@example.com"))
		if i < 0 {
			t.Fatal("no row 1500 in the archive")
		}
		// Each row is a chunk of its own, after its length: walk back over
		// the id's digits, not to the last newline.
		id := bytes.LastIndexByte(raw[:i], '\t')
		for id > 0 && raw[id-1] >= '0' && raw[id-1] <= '9' {
			id--
		}
		raw[id] = 'x'
		if err := os.WriteFile(m.Path(), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rewriteManifestSum(t, m)
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeGzip(t *testing.T, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rewriteManifestSum makes the size and sha256 of m's manifest, and of m,
// those of its data file as it is now.
func rewriteManifestSum(t *testing.T, m *backup.Manifest) {
	t.Helper()
	b, err := os.ReadFile(m.Path())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	m.Size, m.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
	path := filepath.Join(m.Dir(), m.Name+".json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["size"], doc["sha256"] = m.Size, m.SHA256
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// contentOf says which of two contents the database at url holds: "old",
// "new", or what differs from both.
func contentOf(t *testing.T, url string, old, new []backup.Table) string {
	t.Helper()
	got, err := backup.ReadTables(context.Background(), url)
	if err != nil {
		t.Fatalf("read the target: %v", err)
	}
	if backup.CompareSums(old, got) == "" {
		return "old"
	}
	diff := backup.CompareSums(new, got)
	if diff == "" {
		return "new"
	}
	return "partial: " + diff
}

// deadRestores lists the kura_restore_… databases on the MySQL server of
// url that no running restore holds.
func deadRestores(t *testing.T, url string) []string {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Reader().Query(`SELECT schema_name, IS_FREE_LOCK(REPLACE(schema_name, '_old', ''))
		FROM information_schema.schemata WHERE schema_name LIKE 'kura\_restore\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var dead []string
	for rows.Next() {
		var name string
		var free sql.NullInt64
		if err := rows.Scan(&name, &free); err != nil {
			t.Fatal(err)
		}
		if free.Int64 == 1 {
			dead = append(dead, name)
		}
	}
	return dead
}
