package sqldb_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestParseDialect(t *testing.T) {
	tests := map[string]sqldb.Dialect{
		"./data/kura.db":               sqldb.SQLite,
		"kura.db":                      sqldb.SQLite,
		"/var/lib/kura/kura.db":        sqldb.SQLite,
		"sqlite:data/kura.db":          sqldb.SQLite,
		"sqlite:///var/lib/kura.db":    sqldb.SQLite,
		"file:kura.db":                 sqldb.SQLite,
		`C:\data\kura.db`:              sqldb.SQLite,
		"postgres://u@h/db":            sqldb.Postgres,
		"postgresql://u@h/db":          sqldb.Postgres,
		"mysql://u@h/db":               sqldb.MySQL,
		"MySQL://u@h/db?tls=true":      sqldb.MySQL,
		"mariadb://u@h/db":             sqldb.MySQL,
		"sqlite3:relative/path/k.db":   sqldb.SQLite,
		"postgres://u:p@h:5/db?x=y#fr": sqldb.Postgres,
	}
	for in, want := range tests {
		if got, err := sqldb.ParseDialect(in); err != nil || got != want {
			t.Errorf("ParseDialect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := sqldb.ParseDialect("redis://localhost"); err == nil {
		t.Error("ParseDialect(redis://) succeeded")
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"postgres://kura:s3cr%40t@db:5432/kura?sslmode=require": "postgres://kura:xxxxx@db:5432/kura?sslmode=require",
		"mysql://root@127.0.0.1/test":                           "mysql://root@127.0.0.1/test",
		"postgres://db/kura?password=hunter22&sslmode=disable":  "postgres://db/kura?password=xxxxx&sslmode=disable",
		"./data/kura.db": "./data/kura.db",
	}
	for in, want := range tests {
		if got := sqldb.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", in, got, want)
		}
	}
	// A password with an unescaped '@', '/', '%', '#' or '?': everything
	// between "://" and the last '@' is hidden, whatever a parser reads.
	for in, want := range map[string]string{
		"postgres://kura:p@ss/w%rd#x@127.0.0.1:5432/test": "postgres://xxxxx@127.0.0.1:5432/test",
		"postgres://kura:p@ss@127.0.0.1:5432/test":        "postgres://xxxxx@127.0.0.1:5432/test",
		"mysql://kura:p#ss@db:3306/test?tls=true":         "mysql://xxxxx@db:3306/test?tls=true",
		"postgres://kura:p?ss@db/test":                    "postgres://xxxxx@db/test",
		"sqlite:///var/lib/kura@2/kura.db":                "sqlite:///var/lib/kura@2/kura.db",
	} {
		if got := sqldb.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", in, got, want)
		}
	}
	if got := sqldb.RedactURL("postgres://u:p%zz@h/db"); strings.Contains(got, "p%zz") {
		t.Errorf("RedactURL of an unparseable URL kept the password: %q", got)
	}
}

func TestConfig_WithDefaults(t *testing.T) {
	c := sqldb.Config{}.WithDefaults()
	if c.URL != "./data/kura.db" || c.PoolSize != 5 || c.MaxOverflow != 10 || c.ConnMaxAge != 600*time.Second ||
		c.PoolTimeout != 5*time.Second || c.PrePing == nil || !*c.PrePing || c.Logger == nil || c.ConnMaxIdle <= 0 {
		t.Fatalf("defaults = %+v", c)
	}
	if c := (sqldb.Config{MaxOverflow: -1}).WithDefaults(); c.MaxOverflow != 0 {
		t.Fatalf("MaxOverflow -1 => %d; want 0 (no overflow)", c.MaxOverflow)
	}
}

func TestOpen_RefusesUnencryptedRemote(t *testing.T) {
	// Refusals happen before any network access: these hosts are never dialled.
	tests := []string{
		"postgres://kura:Sup3rSecretPw@db.example.com/kura",
		"postgres://kura:Sup3rSecretPw@db.example.com/kura?sslmode=disable",
		"postgres://kura:Sup3rSecretPw@db.example.com/kura?sslmode=prefer",
		"postgres://kura:Sup3rSecretPw@db.example.com/kura?sslmode=allow",
		"postgres://kura:Sup3rSecretPw@127.0.0.1,db.example.com/kura?sslmode=disable",
		"postgresql://kura:Sup3rSecretPw@10.0.0.5:5432/kura",
		"mysql://kura:Sup3rSecretPw@db.example.com/kura",
		"mysql://kura:Sup3rSecretPw@db.example.com:3306/kura?tls=false",
		"mysql://kura:Sup3rSecretPw@db.example.com/kura?tls=preferred",
		"mysql://kura:Sup3rSecretPw@[2001:db8::1]:3306/kura",
	}
	for _, u := range tests {
		_, err := sqldb.Open(context.Background(), sqldb.Config{URL: u})
		if err == nil || !strings.Contains(err.Error(), "is not local and the connection is not encrypted") {
			t.Errorf("Open(%s) = %v; want a refusal", sqldb.RedactURL(u), err)
			continue
		}
		if strings.Contains(err.Error(), "Sup3rSecretPw") || strings.Contains(err.Error(), "\n") {
			t.Errorf("refusal leaks the password or spans lines: %v", err)
		}
	}
}

func TestOpen_AllowInsecureWarns(t *testing.T) {
	// With the opt-out the policy passes and one warning is logged; the
	// connection itself then fails fast on a closed port of a non-loopback
	// address that is this host's own (skipped when there is none).
	ip := nonLoopbackIP(t)
	var logs syncBuffer
	_, err := sqldb.Open(context.Background(), sqldb.Config{
		URL:           "postgres://kura:Sup3rSecretPw@" + net.JoinHostPort(ip, "1") + "/kura?sslmode=disable",
		AllowInsecure: true,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err == nil || strings.Contains(err.Error(), "not encrypted") {
		t.Fatalf("Open = %v; want a connection error, not a refusal", err)
	}
	if !strings.Contains(logs.String(), "not encrypted") || strings.Count(logs.String(), "\n") != 1 {
		t.Fatalf("logs = %q; want one warning", logs.String())
	}
}

func nonLoopbackIP(t *testing.T) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

// TestOpen_MalformedURLRefused opens URLs whose password holds an
// unescaped '@', '/', '%', '#' or '?' toward a listener that counts
// connections: each is refused before any is made, with ErrMalformedURL,
// and no part of the password is in the error.
func TestOpen_MalformedURLRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dialled := make(chan struct{}, 100)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			dialled <- struct{}{}
			c.Close()
		}
	}()
	for _, pw := range []string{"Gh@Jk7Lm", "Gh/Jk7Lm", "Gh%Jk7Lm", "Gh#Jk7Lm", "Gh?Jk7Lm", "Gh@Jk/7L%m#n?o"} {
		for _, scheme := range []string{"postgres", "mysql"} {
			raw := scheme + "://kura:" + pw + "@" + l.Addr().String() + "/kura"
			_, err := sqldb.Open(context.Background(), sqldb.Config{URL: raw, AllowInsecure: true})
			if !errors.Is(err, sqldb.ErrMalformedURL) {
				t.Errorf("Open(%s) = %v; want ErrMalformedURL", sqldb.RedactURL(raw), err)
			}
			if err != nil && (strings.Contains(err.Error(), "Jk7") || strings.Contains(err.Error(), "h@J")) {
				t.Errorf("Open's error shows the password: %v", err)
			}
			if _, err := sqldb.URLTransport(raw); !errors.Is(err, sqldb.ErrMalformedURL) {
				t.Errorf("URLTransport(%s) = %v; want ErrMalformedURL", sqldb.RedactURL(raw), err)
			}
		}
	}
	if len(dialled) > 0 {
		t.Errorf("%d connections were made for malformed URLs", len(dialled))
	}
	if err := sqldb.CheckURL("sqlite:///data/kura@2.db"); err != nil {
		t.Errorf("CheckURL of a SQLite path with '@' = %v", err)
	}
}

// TestOpen_NoPasswordInErrorsOrLogs opens with a distinctive password in
// ways that fail, and checks that it appears in neither errors nor logs.
func TestOpen_NoPasswordInErrorsOrLogs(t *testing.T) {
	const secret = "Zq9-Unl1kely-Pa55word"
	closedPort := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	withPassword := func(raw string, wrongDB bool) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), secret)
		if wrongDB {
			u.Path = "/kura_no_such_database"
		}
		return u.String()
	}
	tests := map[string]func(t *testing.T) string{
		"ClosedPort/postgres": func(*testing.T) string {
			return "postgres://kura:" + secret + "@" + closedPort + "/kura?sslmode=disable"
		},
		"ClosedPort/mysql": func(*testing.T) string { return "mysql://kura:" + secret + "@" + closedPort + "/kura" },
		"WrongDatabase/postgres": func(t *testing.T) string {
			return withPassword(testenv.PostgresURL(t), true)
		},
		"WrongPassword/mysql": func(t *testing.T) string {
			return withPassword(testenv.MySQLURL(t), false)
		},
		"WrongDatabase/mysql": func(t *testing.T) string {
			return withPassword(testenv.MySQLURL(t), true)
		},
	}
	for name, makeURL := range tests {
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			cfg := sqldb.Config{URL: makeURL(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			db, err := sqldb.Open(context.Background(), cfg)
			if err == nil {
				// The server accepted the login (trust authentication):
				// exercise the other paths that report errors instead.
				defer db.Close()
				err = errors.Join(db.Ping(context.Background()), db.MigrateUp(context.Background(), store.Schema))
			}
			if err == nil {
				t.Skip("nothing failed: the server accepts any password")
			}
			for where, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
				if strings.Contains(text, secret) {
					t.Fatalf("%s contains the password: %s", where, text)
				}
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestDB_PoolTimeout(t *testing.T) {
	forEachEngineConfig(t, sqldb.Config{PoolSize: 1, MaxOverflow: -1, PoolTimeout: 50 * time.Millisecond},
		func(t *testing.T, db *sqldb.DB) {
			ctx := context.Background()
			u := MustCreateUser(t, db, "pat@example.com", "pat")
			// Hold every connection of the pools the services use.
			held, err := db.HoldConn(ctx, db.Reader())
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			if db.Writer() != db.Reader() {
				w, err := db.HoldConn(ctx, db.Writer())
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				// SQLite's reader has several connections: take them all.
				for range db.Reader().Stats().MaxOpenConnections - 1 {
					c, err := db.HoldConn(ctx, db.Reader())
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
				}
			}
			_, err = accounts.NewUserService(db).FindUserByID(ctx, u.ID)
			wantCode(t, err, kura.EUNAVAILABLE)
			if kura.ErrorMessage(err) != "The database is busy; try again shortly." {
				t.Fatalf("message = %q", kura.ErrorMessage(err))
			}
			err = accounts.NewUserService(db).DeleteUser(ctx, u.ID)
			wantCode(t, err, kura.EUNAVAILABLE)

			// A caller whose own context ends gets its context error instead.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err = accounts.NewUserService(db).FindUserByID(cctx, u.ID)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("canceled caller: %v", err)
			}
		})
}

// forEachEngineConfig is forEachEngine with pool settings.
func forEachEngineConfig(t *testing.T, cfg sqldb.Config, fn func(t *testing.T, db *sqldb.DB)) {
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			c := cfg
			c.URL = MustTestURL(t, d)
			fn(t, MustOpenConfig(t, c, true))
		})
	}
}

func TestDB_Ping(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		if err := db.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if db.Stats().MaxOpenConnections < 1 {
			t.Fatalf("stats = %+v", db.Stats())
		}
		db.Close()
		if err := db.Ping(context.Background()); err == nil {
			t.Fatal("Ping after Close succeeded")
		}
	})
}

// TestOpen_SQLiteFileMode checks that a new database file, which will hold
// password hashes, is readable by its owner only, in a folder Open creates.
func TestOpen_SQLiteFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "kura.db")
	db := MustOpenConfig(t, sqldb.Config{URL: "sqlite:" + path}, true)
	if _, err := accounts.NewUserService(db).CreateUser(context.Background(), kura.NewUser{Email: "m@example.com", Username: "mode", Password: "long enough"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %o; want no access for group and others", filepath.Base(p), mode)
		}
	}
}

func TestConfig_Validate(t *testing.T) {
	if err := (sqldb.Config{}).Validate(); err != nil {
		t.Fatalf("the zero Config (all defaults) is invalid: %v", err)
	}
	err := sqldb.Config{URL: "redis://x:secret-pw@host/0", PoolSize: -1, PoolTimeout: -time.Second}.Validate()
	for _, want := range []string{"URL", "PoolSize", "PoolTimeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Validate = %v; want it to name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Fatalf("Validate shows the password: %v", err)
	}
	if _, err := sqldb.Open(context.Background(), sqldb.Config{URL: t.TempDir() + "/x.db", PoolSize: -2}); err == nil || !strings.Contains(err.Error(), "PoolSize") {
		t.Fatalf("Open with a negative pool size: %v", err)
	}
}
