package backup_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestCreate_WhileWriting takes a backup while a writer inserts users as
// fast as it can: the writes go on (none fails), and the backup verifies,
// because its checksums come from the snapshot it holds.
func TestCreate_WhileWriting(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		db := mustOpen(t, url, 2000)
		users := accounts.NewUserService(db)
		var written, failed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := users.SeedUsers(ctx, 5, nil); err != nil {
					failed.Add(1)
					t.Errorf("a write during the backup failed: %v", err)
					return
				}
				written.Add(5)
			}
		}()
		testenv.Wait(t, 0, "writes before the backup", func() bool { return written.Load() > 0 })
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		before := written.Load()
		testenv.Wait(t, 0, "writes after the backup", func() bool { return written.Load() > before })
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		c, err := backup.Verify(ctx, m, cfg)
		if err != nil || !c.OK {
			t.Fatalf("verify of a backup taken under writes: %v %+v", err, c)
		}
		if n := tableOf(t, m, "users").Rows; n < 2000 || n > 2000+written.Load() {
			t.Fatalf("the backup holds %d users; between 2000 and %d were written", n, 2000+written.Load())
		}
	})
}

// TestVerify_DetectsDamage: a changed byte in the data file, or a manifest
// whose checksums do not match the content, fails the verify, is recorded,
// and the restore refuses the file.
func TestVerify_DetectsDamage(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		mustOpen(t, url, 20)
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The manifest says users holds other content.
		good := m.Tables
		m.Tables = append([]backup.Table(nil), good...)
		for i := range m.Tables {
			if m.Tables[i].Name == "users" {
				m.Tables[i].Checksum = strings.Repeat("0", 64)
			}
		}
		c, err := backup.Verify(ctx, m, cfg)
		if err != nil || c.OK || !strings.Contains(c.Problem, "users") {
			t.Fatalf("verify against a wrong checksum: %v %+v", err, c)
		}
		listed, _ := backup.Find(cfg.Dir, m.Name)
		if listed.Verified == nil || listed.Verified.OK {
			t.Fatalf("the failed verify is not recorded: %+v", listed.Verified)
		}
		m.Tables = good

		// A flipped byte.
		b, err := os.ReadFile(m.Path())
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(m.Path(), b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err = backup.Verify(ctx, m, cfg)
		if err != nil || c.OK || !strings.Contains(c.Problem, "sha256") {
			t.Fatalf("verify of a damaged file: %v %+v", err, c)
		}
		err = backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: e.url(t)})
		if err == nil || !strings.Contains(err.Error(), "sha256") {
			t.Fatalf("restore of a damaged file: %v", err)
		}
	})
}

// TestCreate_CancelledLeavesNothing cancels a backup mid-way: no data
// file, manifest or temporary file is left.
func TestCreate_CancelledLeavesNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		url := e.url(t)
		mustOpen(t, url, 3000)
		cfg := config(t, url)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg.Progress = func(p backup.Progress) {
			if p.Done > 0 {
				cancel()
			}
		}
		if _, err := backup.Create(ctx, cfg); err == nil {
			t.Fatal("a cancelled backup succeeded")
		}
		entries, _ := os.ReadDir(cfg.Dir)
		for _, en := range entries {
			t.Errorf("left behind: %s", en.Name())
		}
	})
}

// TestCreate_MissingProgram: without the dump program, one clear line
// says which and how to install it, and nothing is left.
func TestCreate_MissingProgram(t *testing.T) {
	for _, e := range engines[1:] {
		t.Run(e.name, func(t *testing.T) {
			url := e.url(t)
			mustOpen(t, url, 0)
			t.Setenv("PATH", t.TempDir())
			cfg := config(t, url)
			_, err := backup.Create(context.Background(), cfg)
			want := map[string]string{"postgres": "pg_dump not found in PATH", "mysql": "mariadb-dump or mysqldump not found in PATH"}[e.name]
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "apt-get install") {
				t.Fatalf("err = %v; want %q and how to install", err, want)
			}
			entries, _ := os.ReadDir(cfg.Dir)
			if len(entries) > 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}

// TestCreate_OldProgram: a dump program older than the server is refused
// with the versions and what to install.
func TestCreate_OldProgram(t *testing.T) {
	for _, c := range []struct {
		engine, program, version, want string
	}{
		{"postgres", "pg_dump", "pg_dump (PostgreSQL) 9.6.24", "pg_dump 9.6.24 is older than the PostgreSQL"},
		{"mysql", "mariadb-dump", "mariadb-dump  Ver 10.19 Distrib 10.3.39-MariaDB, for debian-linux-gnu (x86_64)", "mariadb-dump 10.3.39 is older than"},
	} {
		t.Run(c.engine, func(t *testing.T) {
			e := engines[map[string]int{"postgres": 1, "mysql": 2}[c.engine]]
			url := e.url(t)
			mustOpen(t, url, 0)
			bin := t.TempDir()
			script := "#!/bin/sh\necho '" + c.version + "'\n"
			if err := os.WriteFile(filepath.Join(bin, c.program), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin)
			_, err := backup.Create(context.Background(), config(t, url))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want %q", err, c.want)
			}
		})
	}
}

// TestCreate_SecretsStayOut: the password is on no child's command line,
// in no manifest and in no error; the credentials file is gone after.
func TestCreate_SecretsStayOut(t *testing.T) {
	const secret = "s3cret-Pw:x"
	for _, c := range []struct{ engine, program string }{{"postgres", "pg_dump"}, {"mysql", "mariadb-dump"}} {
		t.Run(c.engine, func(t *testing.T) {
			e := engines[map[string]int{"postgres": 1, "mysql": 2}[c.engine]]
			raw := e.url(t)
			mustOpen(t, raw, 5)
			withSecret := withPassword(t, e, raw, secret)
			// A wrapper before the real program records its command line.
			real, err := execLookPath(c.program)
			if err != nil {
				t.Fatal(err)
			}
			bin, record := t.TempDir(), filepath.Join(t.TempDir(), "argv")
			wrapper := "#!/bin/sh\necho \"$@\" >> " + record + "\nexec " + real + " \"$@\"\n"
			if err := os.WriteFile(filepath.Join(bin, c.program), []byte(wrapper), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			cfg := config(t, withSecret)
			var logs testenv.LogBuffer
			cfg.Logger = newLogger(&logs)
			m, err := backup.Create(context.Background(), cfg)
			if err != nil {
				if strings.Contains(err.Error(), secret) {
					t.Fatal("the error holds the password")
				}
				t.Fatal(err)
			}
			argv, _ := os.ReadFile(record)
			manifest, _ := os.ReadFile(filepath.Join(cfg.Dir, m.Name+".json"))
			for what, s := range map[string]string{"command line": string(argv), "manifest": string(manifest), "log": logs.String()} {
				if strings.Contains(s, secret) {
					t.Errorf("the %s holds the password", what)
				}
			}
			if len(argv) == 0 {
				t.Fatal("the wrapper did not run")
			}
			entries, _ := os.ReadDir(cfg.Dir)
			for _, en := range entries {
				if strings.Contains(en.Name(), "cred") {
					t.Errorf("the credentials file %s is left", en.Name())
				}
			}
		})
	}
}

// TestRestore_Force replaces a database that holds data when no server
// serves it.
func TestRestore_Force(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		mustOpen(t, url, 10)
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		to := e.url(t)
		target := mustOpen(t, to, 25)
		if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to}); err == nil {
			t.Fatal("restore over data without Force")
		}
		if n := countUsers(t, target.Reader()); n != 25 {
			t.Fatalf("a refused restore changed the target: %d users", n)
		}
		// Another database (another identity) needs leave of its own.
		err = backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to, Force: true})
		if !errors.Is(err, backup.ErrOtherDatabase) {
			t.Fatalf("restore over another database with Force only: %v; want ErrOtherDatabase", err)
		}
		if n := countUsers(t, target.Reader()); n != 25 {
			t.Fatalf("a refused restore changed the target: %d users", n)
		}
		target.Close()
		if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to, Force: true, OtherDatabase: true}); err != nil {
			t.Fatal(err)
		}
		again := mustOpen(t, to, 0)
		if n := countUsers(t, again.Reader()); n != 10 {
			t.Fatalf("after a forced restore: %d users, want 10", n)
		}
	})
}

// TestRestore_RefusesServed: a database with a recent heartbeat in
// kura_instances is not replaced, even with Force; a stale one is.
func TestRestore_RefusesServed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		db := mustOpen(t, url, 3)
		cfg := config(t, url)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		inst := sqldb.Instance{ID: "web-1", Hostname: "web", PID: 42, Addr: "127.0.0.1:8080", Version: "test", Started: time.Now()}
		if err := db.Announce(ctx, inst); err != nil {
			t.Fatal(err)
		}
		err = backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: url, Force: true})
		if !errors.Is(err, backup.ErrServing) || !strings.Contains(err.Error(), "web pid 42") {
			t.Fatalf("restore over a served database: %v", err)
		}
		// A server that has not beaten for longer than the window (killed).
		db.Now = func() time.Time { return time.Now().Add(-2 * sqldb.ServingWindow) }
		if err := db.Announce(ctx, inst); err != nil {
			t.Fatal(err)
		}
		if err := db.Retire(ctx, "nobody"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: url, Force: true}); err != nil {
			t.Fatalf("restore over a database whose server is gone: %v", err)
		}
	})
}

// TestCreate_DiskFull takes backups into a folder on a 64 KiB file system:
// each fails with the disk's error and leaves nothing there, not even a
// temporary file. Mounting needs root, which CI has.
func TestCreate_DiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if testenv.CI() {
			t.Fatal("this test mounts a small tmpfs and needs root (CI=true: tests must not skip)")
		}
		t.Skip("mounting a small tmpfs needs root")
	}
	eachEngine(t, func(t *testing.T, e engine) {
		url := e.url(t)
		mustOpen(t, url, 20000)
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount a small tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		cfg := config(t, url)
		cfg.Dir = dir
		_, err := backup.Create(context.Background(), cfg)
		if err == nil {
			t.Fatal("a backup onto a full disk succeeded")
		}
		t.Logf("the error: %v", err)
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			t.Errorf("left behind on the full disk: %s", en.Name())
		}
		if all, _ := backup.List(dir); len(all) > 0 {
			t.Errorf("a backup is listed: %v", all[0].Name)
		}
	})
}

// withPassword returns raw with the password secret: on MySQL the URL of
// an account of its own with that password, for this test only, allowed
// the database and scratch databases; on PostgreSQL the same URL with a
// password that the local server's trust authentication ignores.
func withPassword(t *testing.T, e engine, raw, secret string) string {
	t.Helper()
	u, _ := url.Parse(raw)
	if e.d != sqldb.MySQL {
		u.User = url.UserPassword(u.User.Username(), secret)
		return u.String()
	}
	admin := mustOpen(t, raw, 0)
	name := "kura_pw_" + testenv.RandomSuffix()
	for _, q := range []string{
		"CREATE USER '" + name + "'@'%' IDENTIFIED BY '" + secret + "'",
		"GRANT ALL ON " + strings.TrimPrefix(u.Path, "/") + ".* TO '" + name + "'@'%'",
		"GRANT ALL ON `kura\\_verify\\_%`.* TO '" + name + "'@'%'",
	} {
		if _, err := admin.Writer().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Writer().Exec("DROP USER '" + name + "'@'%'") })
	u.User = url.UserPassword(name, secret)
	return u.String()
}

// TestConfig_MalformedURLRefused: a URL whose password holds an unescaped
// '@', '/', '%', '#' or '?' is refused by Create, Verify's scratch server
// and Restore before any program runs or connection is made, and the error
// quotes none of it.
func TestConfig_MalformedURLRefused(t *testing.T) {
	const bad = "postgres://kura:Gh@Jk/7L%m#n?o@127.0.0.1:1/kura"
	good := "postgres://kura@127.0.0.1:1/kura"
	for name, cfg := range map[string]backup.Config{
		"URL":        {URL: bad, Dir: t.TempDir()},
		"ScratchURL": {URL: good, ScratchURL: bad, Dir: t.TempDir()},
	} {
		err := cfg.Validate()
		if !errors.Is(err, sqldb.ErrMalformedURL) || !strings.Contains(err.Error(), name+": ") {
			t.Errorf("Validate with a malformed %s = %v; want ErrMalformedURL naming it", name, err)
		}
		if _, err := backup.Create(context.Background(), cfg); !errors.Is(err, sqldb.ErrMalformedURL) || strings.Contains(err.Error(), "Jk") {
			t.Errorf("Create with a malformed %s = %v; want ErrMalformedURL, no password", name, err)
		}
	}
	m := &backup.Manifest{Name: "kura-x", Engine: "postgres"}
	err := backup.Restore(context.Background(), m, backup.Config{Dir: t.TempDir()}, backup.RestoreOptions{To: bad})
	if !errors.Is(err, sqldb.ErrMalformedURL) || strings.Contains(err.Error(), "Jk") {
		t.Errorf("Restore to a malformed URL = %v; want ErrMalformedURL, no password", err)
	}
}
