package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestEndToEnd_Backups runs serve with backups scheduled: it takes one at
// start and verifies it, /health reports it, a restore over the database
// it serves is refused even with --force, and the commands list, verify,
// restore into a new database and prune, with --json.
func TestEndToEnd_Backups(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			dbURL := e.url(t)
			dir := filepath.Join(t.TempDir(), "backups")
			env := []string{"DATABASE_URL=" + dbURL, "KURA_BACKUP_DIR=" + dir, "KURA_BACKUP_VERIFY_EVERY=1",
				"KURA_JOB_POLL_INTERVAL=100ms"}
			s := startKura(t, append(env, "KURA_BACKUP_INTERVAL=1h")...)
			register(t, s, "ada@example.com", "ada").want(t, 201)

			// The backup taken at start, verified.
			var m *backup.Manifest
			testenv.Wait(t, time.Minute, "the scheduled backup, verified", func() bool {
				all, _ := backup.List(dir)
				if len(all) > 0 && all[0].Verified != nil {
					m = all[0]
					return true
				}
				return false
			})
			if !m.Verified.OK {
				t.Fatalf("the scheduled backup failed its verify: %s", m.Verified.Problem)
			}
			testenv.Wait(t, 30*time.Second, `/health's backup note "ok"`, func() bool {
				return s.do(t, "GET", "/health", "", nil).Body["backup"] == "ok"
			})

			// Not over the database a server is serving, even with --force.
			_, _, err := runKura(t, env, "", "backup", "restore", m.Name, "--to", dbURL, "--force")
			if err == nil || !strings.Contains(err.Error(), "serving") {
				t.Fatalf("restore over the served database: %v; want a refusal", err)
			}
			// Without --force, not over a database that holds tables.
			to := e.url(t)
			if strings.HasPrefix(to, "sqlite:") {
				to = "sqlite:" + filepath.Join(t.TempDir(), "restored.db")
			}
			out, _, err := runKura(t, env, "", "backup", "restore", "--latest", "--to", to, "--json")
			if err != nil {
				t.Fatalf("restore into a new database: %v", err)
			}
			var res map[string]any
			if err := json.Unmarshal([]byte(out), &res); err != nil || res["name"] != m.Name {
				t.Fatalf("restore --json: %v %q", err, out)
			}
			if strings.Contains(out, dbURL) || strings.Contains(out, to) {
				t.Fatalf("restore printed a database URL: %s", out)
			}

			// A backup by hand, listed first, then verified by name.
			out, _, err = runKura(t, env, "", "backup", "create", "--json")
			if err != nil {
				t.Fatalf("backup create: %v", err)
			}
			var created struct{ Name, Path string }
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name == "" {
				t.Fatalf("backup create --json: %v %q", err, out)
			}
			if _, err := os.Stat(created.Path); err != nil {
				t.Fatalf("backup create --json path: %v", err)
			}
			out, _, err = runKura(t, env, "", "backup", "list", "--json")
			var listed []struct {
				Name     string
				Verified *backup.Check
			}
			if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 2 || listed[0].Name != created.Name {
				t.Fatalf("backup list --json: %v %q", err, out)
			}
			if _, _, err := runKura(t, env, "", "backup", "verify", created.Name); err != nil {
				t.Fatalf("backup verify: %v", err)
			}
			// Prune keeps both: they are young, and within KURA_BACKUP_KEEP.
			out, _, err = runKura(t, env, "", "backup", "prune", "--json")
			if err != nil || !strings.Contains(out, `"deleted": []`) {
				t.Fatalf("backup prune: %v %q", err, out)
			}
		})
	}
}

// TestBackup_CommandLine covers the backup commands' mistakes: each is a
// clear error with the usual exit status, and nothing is made.
func TestBackup_CommandLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "none.db"), "KURA_BACKUP_DIR=" + dir}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"backup", "create", "extra"}, 2, "takes no arguments"},
		{[]string{"backup", "verify"}, 2, "NAME or --latest"},
		{[]string{"backup", "restore", "kura-x"}, 2, "--to"},
		{[]string{"backup", "create"}, 1, "no database file"},
		{[]string{"backup", "verify", "--latest"}, 1, "holds no backup"},
		{[]string{"backup", "verify", "nonsense"}, 1, "no such backup"},
	} {
		_, _, err := runKura(t, env, "", c.args...)
		if code := exitCode(err, &strings.Builder{}); code != c.code || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("kura %s: exit %d (%v); want %d and %q", strings.Join(c.args, " "), code, err, c.code, c.want)
		}
	}
	if _, err := os.Stat(strings.TrimPrefix(env[0], "DATABASE_URL=sqlite:")); !os.IsNotExist(err) {
		t.Errorf("a backup command made the SQLite file: %v", err)
	}
}

// TestBackup_Identity follows a backup's source through the commands: db
// identity prints what backup create --json records as the manifest's
// source and backup list shows; a restore prints source and target before
// it acts and refuses, even with --force, a database of another identity
// until --other-database, after which the target takes the source's
// identity.
func TestBackup_Identity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		dir := filepath.Join(t.TempDir(), "backups")
		env := []string{"DATABASE_URL=" + dbURL, "KURA_BACKUP_DIR=" + dir}
		if _, _, err := runKura(t, env, "", "migrate", "up"); err != nil {
			t.Fatal(err)
		}
		out, _, err := runKura(t, env, "", "db", "identity", "--json")
		var id backup.Source
		if err != nil || json.Unmarshal([]byte(out), &id) != nil || len(id.ID) != 32 || id.Engine == "" || id.Address == "" || id.Database == "" {
			t.Fatalf("db identity --json: %v %q", err, out)
		}
		if strings.Contains(out, dbURL) && !strings.HasPrefix(dbURL, "sqlite:") {
			t.Fatalf("db identity printed the URL: %s", out)
		}
		out, _, err = runKura(t, env, "", "backup", "create", "--json")
		var created struct {
			Name   string
			Source backup.Source
		}
		if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.Source != id {
			t.Fatalf("backup create --json: source %+v, want %+v (%v)", created.Source, id, err)
		}
		out, _, err = runKura(t, env, "", "backup", "list")
		if err != nil || !strings.Contains(out, "SOURCE") || !strings.Contains(out, "id "+id.ID[:8]) {
			t.Fatalf("backup list shows no source: %v\n%s", err, out)
		}

		// Another database, migrated: it has an identity of its own.
		other := dbURL
		if strings.HasPrefix(other, "sqlite:") {
			other = "sqlite:" + filepath.Join(t.TempDir(), "other.db")
		} else {
			other = engines[map[bool]int{true: 1, false: 2}[strings.HasPrefix(dbURL, "postgres")]].url(t)
		}
		otherEnv := []string{"DATABASE_URL=" + other, "KURA_BACKUP_DIR=" + dir}
		if _, _, err := runKura(t, otherEnv, "", "migrate", "up"); err != nil {
			t.Fatal(err)
		}
		out, _, _ = runKura(t, otherEnv, "", "db", "identity", "--json")
		var otherID backup.Source
		json.Unmarshal([]byte(out), &otherID)
		_, logs, err := runKura(t, env, "", "backup", "restore", created.Name, "--to", other, "--force")
		if code := exitCode(err, io.Discard); code != 1 || !strings.Contains(err.Error(), "--other-database") || !strings.Contains(err.Error(), otherID.ID) {
			t.Fatalf("restore over another database with --force: exit %d, %v; want a refusal naming --other-database and its identity", code, err)
		}
		if !strings.Contains(logs, "source: ") || !strings.Contains(logs, "target: ") || !strings.Contains(logs, "identity "+otherID.ID) {
			t.Fatalf("restore did not print source and target:\n%s", logs)
		}
		if out, _, _ := runKura(t, otherEnv, "", "db", "identity", "--json"); !strings.Contains(out, otherID.ID) {
			t.Fatalf("a refused restore changed the target: %s", out)
		}
		out, _, err = runKura(t, env, "", "backup", "restore", created.Name, "--to", other, "--force", "--other-database", "--json")
		var res struct {
			Source, Target backup.Source
		}
		if err != nil || json.Unmarshal([]byte(out), &res) != nil || res.Source != id || res.Target.ID != otherID.ID {
			t.Fatalf("restore --other-database --json: %v %q", err, out)
		}
		if out, _, _ := runKura(t, otherEnv, "", "db", "identity", "--json"); !strings.Contains(out, id.ID) {
			t.Fatalf("the restored database's identity: %s; want the source's %s", out, id.ID)
		}
	})
}

// TestBackup_PruneReportsTemporaryFiles: prune names the temporary files
// of killed backups it removes, and an old kura's credentials file is
// removed by any backup command, list included.
func TestBackup_PruneReportsTemporaryFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db"), "KURA_BACKUP_DIR=" + dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".tmp-cred-77")
	_, logs, err := runKura(t, env, "", "backup", "list")
	if err != nil || !strings.Contains(logs, "removed .tmp-cred-77") {
		t.Fatalf("backup list: %v; stderr %q; want the credentials file removed and named", err, logs)
	}
	write(".tmp-kura-20260101T000000Z-sqlite.sqlite.gz-5") // a killed backup's, which no process holds
	out, _, err := runKura(t, env, "", "backup", "prune", "--dry-run")
	if err != nil || !strings.Contains(out, "would remove .tmp-kura-20260101T000000Z-sqlite.sqlite.gz-5") {
		t.Fatalf("backup prune --dry-run: %v %q", err, out)
	}
	out, _, err = runKura(t, env, "", "backup", "prune", "--json")
	var res struct {
		Deleted        []string `json:"deleted"`
		TemporaryFiles []string `json:"temporary_files"`
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || len(res.TemporaryFiles) != 1 || res.TemporaryFiles[0] != ".tmp-kura-20260101T000000Z-sqlite.sqlite.gz-5" {
		t.Fatalf("backup prune --json: %v %q", err, out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left: %v", entries)
	}
}

// TestBackup_FailedRestoreQuotesNoRows damages a MariaDB backup in a row
// (its sha256 made to match again), then verifies and restores it: both
// fail, and neither the output, the log, the manifest nor the run log
// holds an email or a password hash of the data.
func TestBackup_FailedRestoreQuotesNoRows(t *testing.T) {
	dbURL := engines[2].url(t)
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=" + dbURL, "KURA_BACKUP_DIR=" + dir}
	if _, _, err := runKura(t, env, "", "users", "seed", "--count", "2000"); err != nil {
		t.Fatal(err)
	}
	out, createLogs, err := runKura(t, env, "", "backup", "create", "--json")
	var created struct{ Name, Path string }
	if err != nil || json.Unmarshal([]byte(out), &created) != nil {
		t.Fatalf("backup create: %v %q", err, out)
	}
	// A syntax error in row 1000's email, after a statement that inserts
	// the rows before it.
	dump := string(gunzip(t, created.Path))
	row := regexp.MustCompile(`\(\d+,'(seed-[0-9a-f]+-1000@example\.com)'`).FindStringSubmatchIndex(dump)
	if row == nil {
		t.Fatal("no row 1000 in the dump")
	}
	sep := strings.LastIndex(dump[:row[0]], ",")
	dump = dump[:sep] + ";\nINSERT INTO `users` VALUES " + dump[row[0]:row[2]-1] + dump[row[2]:]
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte(dump))
	zw.Close()
	if err := os.WriteFile(created.Path, zipped.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	manifestPath := filepath.Join(dir, created.Name+".json")
	raw, _ := os.ReadFile(manifestPath)
	var doc map[string]any
	json.Unmarshal(raw, &doc)
	sum := sha256.Sum256(zipped.Bytes())
	doc["size"], doc["sha256"] = zipped.Len(), hex.EncodeToString(sum[:])
	raw, _ = json.Marshal(doc)
	os.WriteFile(manifestPath, raw, 0o600)

	verifyOut, verifyLogs, verifyErr := runKura(t, env, "", "backup", "verify", created.Name)
	if verifyErr == nil {
		t.Fatal("a damaged backup verified")
	}
	to := engines[2].url(t)
	restoreOut, restoreLogs, restoreErr := runKura(t, env, "", "backup", "restore", created.Name, "--to", to, "--force")
	if restoreErr == nil || !strings.Contains(restoreErr.Error(), "as it was") {
		t.Fatalf("restore of a damaged backup: %v", restoreErr)
	}
	t.Logf("verify: %v\nrestore: %v", verifyErr, restoreErr)
	manifest, _ := os.ReadFile(manifestPath)
	runLog := backupRunsText(t, dbURL)
	rowData := regexp.MustCompile(`@example\.com|\$argon2id\$`)
	for what, s := range map[string]string{
		"verify's output": verifyOut + verifyLogs + verifyErr.Error(), "restore's output": restoreOut + restoreLogs + restoreErr.Error(),
		"backup create's log": createLogs, "manifest": string(manifest), "run log": runLog,
	} {
		if rowData.MatchString(s) {
			t.Errorf("the %s quotes row data: %q", what, rowData.FindString(s))
		}
	}
	if !strings.Contains(string(manifest), `"ok": false`) {
		t.Errorf("the failed verify is not in the manifest:\n%s", manifest)
	}
}

func gunzip(t *testing.T, path string) []byte {
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
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// backupRunsText is every row of the run log, as text.
func backupRunsText(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Reader().Query("SELECT name, ok, problem, COALESCE(verified_ok, FALSE) FROM backup_runs")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var name, problem string
		var ok, verified bool
		if err := rows.Scan(&name, &ok, &problem, &verified); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v %q %v\n", name, ok, problem, verified)
	}
	if b.Len() == 0 {
		t.Fatal("the run log is empty")
	}
	return b.String()
}

// TestBackup_RestoreAfterKill: a serve killed with SIGKILL keeps its row
// in kura_instances, but its process is gone, so a restore over its
// database is not refused as "serving" (while it ran, it was).
func TestBackup_RestoreAfterKill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		dir := filepath.Join(t.TempDir(), "backups")
		env := []string{"DATABASE_URL=" + dbURL, "KURA_BACKUP_DIR=" + dir}
		c := startChild(t, env...)
		register(t, c.srv, "ada@example.com", "ada").want(t, 201)
		out, _, err := runKura(t, env, "", "backup", "create")
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Fields(out)[0]
		_, _, err = runKura(t, env, "", "backup", "restore", name, "--to", dbURL, "--force")
		if err == nil || !strings.Contains(err.Error(), "serving") {
			t.Fatalf("restore under a running serve: %v; want a refusal", err)
		}
		c.cmd.Process.Kill()
		<-c.exited
		if _, _, err := runKura(t, env, "", "backup", "restore", name, "--to", dbURL, "--force"); err != nil {
			t.Fatalf("restore after its serve was killed: %v", err)
		}
	})
}

// TestBackup_VerifyElsewhere: NAME and the flags come in any order, as
// restore's do, and a damaged copy verified in another folder (--dir)
// fails there without marking the real backup failed in the run log that
// /health and doctor read.
func TestBackup_VerifyElsewhere(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "kura.db")
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + dbPath, "KURA_BACKUP_DIR=" + dir}
	if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	out, _, err := runKura(t, env, "", "backup", "create", "--json")
	var m struct{ Name, Path string }
	if err != nil || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("backup create: %v %q", err, out)
	}
	out, _, err = runKura(t, env, "", "backup", "verify", m.Name, "--json")
	var check struct {
		Name string
		OK   bool
	}
	if err != nil || json.Unmarshal([]byte(out), &check) != nil || check.Name != m.Name || !check.OK {
		t.Fatalf("backup verify NAME --json: %v %q", err, out)
	}

	// A copy elsewhere, damaged on the way.
	copyDir := filepath.Join(t.TempDir(), "copy")
	if err := os.Mkdir(copyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{m.Path, filepath.Join(dir, m.Name+".json")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if f == m.Path {
			b[len(b)/2] ^= 0xff
		}
		if err := os.WriteFile(filepath.Join(copyDir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, logs, err := runKura(t, env, "", "backup", "verify", m.Name, "--dir", copyDir, "--json")
	if err == nil || !strings.Contains(err.Error(), "failed its verify") {
		t.Fatalf("verify of the damaged copy: %v, want a failure\n%s", err, logs)
	}
	if !strings.Contains(logs, "the run log is left as it is") {
		t.Errorf("the verify elsewhere does not say the run log is left alone:\n%s", logs)
	}
	copied, err := backup.Find(copyDir, m.Name)
	if err != nil || copied.Verified == nil || copied.Verified.OK {
		t.Fatalf("the copy's own manifest does not record its failed verify: %+v %v", copied, err)
	}
	real, err := backup.Find(dir, m.Name)
	if err != nil || real.Verified == nil || !real.Verified.OK {
		t.Fatalf("the real backup's manifest changed: %+v %v", real, err)
	}
	db, err := sqldb.Open(t.Context(), sqldb.Config{URL: "sqlite:" + dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := backup.ReadStatus(t.Context(), db)
	if err != nil || st.LastVerified == nil || st.LastVerified.Name != m.Name || !st.LastVerified.Verified.OK {
		t.Fatalf("the run log after verifying a damaged copy: %+v %v, want the real backup still verified", st.LastVerified, err)
	}
	// --dir naming KURA_BACKUP_DIR itself (another spelling) records.
	if _, logs, err := runKura(t, env, "", "backup", "verify", "--dir", dir+"/.", m.Name); err != nil || strings.Contains(logs, "left as it is") {
		t.Fatalf("verify with --dir of the configured folder: %v\n%s", err, logs)
	}
}

// TestBackup_PruneAroundDamage: prune deletes what the retention says of
// the backups it can read, leaves a damaged one whole, and says so in
// text and in --json, with exit status 1.
func TestBackup_PruneAroundDamage(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "kura.db")
	dir := filepath.Join(t.TempDir(), "backups")
	env := []string{"DATABASE_URL=sqlite:" + dbPath, "KURA_BACKUP_DIR=" + dir, "KURA_BACKUP_KEEP=1", "KURA_BACKUP_KEEP_DAYS=1"}
	if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	var made []string
	for range 3 {
		out, _, err := runKura(t, env, "", "backup", "create", "--json")
		var m struct{ Name string }
		if err != nil || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("backup create: %v %q", err, out)
		}
		made = append(made, m.Name)
	}
	// Age the two older ones past KURA_BACKUP_KEEP_DAYS, then damage the
	// oldest's manifest.
	for i, name := range made[:2] {
		p := filepath.Join(dir, name+".json")
		b, _ := os.ReadFile(p)
		var raw map[string]any
		json.Unmarshal(b, &raw)
		raw["started"] = time.Now().Add(-time.Duration(10+i) * 24 * time.Hour).UTC().Format(time.RFC3339)
		b, _ = json.Marshal(raw)
		if i == 0 {
			b = b[:len(b)/2]
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, _, err := runKura(t, env, "", "backup", "prune", "--dry-run", "--json")
	var res struct {
		Deleted []string
		Skipped []struct{ Name, Problem string }
	}
	if json.Unmarshal([]byte(out), &res) != nil || len(res.Deleted) != 1 || res.Deleted[0] != made[1] ||
		len(res.Skipped) != 1 || res.Skipped[0].Name != made[0] || !strings.Contains(res.Skipped[0].Problem, "damaged") {
		t.Fatalf("prune --dry-run --json: %v\n%s", err, out)
	}
	if code := exitCode(err, &strings.Builder{}); code != 1 {
		t.Errorf("prune --dry-run with a damaged manifest: exit %d, want 1", code)
	}
	out, _, err = runKura(t, env, "", "backup", "prune")
	if code := exitCode(err, &strings.Builder{}); code != 1 || !strings.Contains(out, "deleted "+made[1]) ||
		!strings.Contains(out, "left alone "+made[0]+": the manifest is damaged") || !strings.Contains(err.Error(), "never deletes a backup it cannot read") {
		t.Fatalf("prune: exit %d (%v)\n%s", code, err, out)
	}
	left, _ := os.ReadDir(dir)
	files := map[string]bool{}
	for _, e := range left {
		files[e.Name()] = true
	}
	for _, want := range []string{made[0] + ".json", made[0] + ".sqlite.gz", made[2] + ".json"} {
		if !files[want] {
			t.Errorf("%s is gone: %v", want, files)
		}
	}
	if files[made[1]+".json"] || files[made[1]+".sqlite.gz"] {
		t.Errorf("%s was not pruned: %v", made[1], files)
	}
}
