package sqldb

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestTransport_Postgres(t *testing.T) {
	tests := []struct {
		url              string
		local, encrypted bool
	}{
		{"postgres://u@127.0.0.1/db?sslmode=disable", true, false},
		{"postgres://u@127.8.9.10/db?sslmode=disable", true, false},
		{"postgres://u@localhost/db?sslmode=disable", true, false},
		{"postgres://u@[::1]:5432/db?sslmode=disable", true, false},
		{"postgres://u@/db?host=/var/run/postgresql&sslmode=disable", true, false},
		{"postgres://u@db.example.com/db", false, false},
		{"postgres://u@db.example.com/db?sslmode=prefer", false, false},
		{"postgres://u@db.example.com/db?sslmode=allow", false, false},
		{"postgres://u@db.example.com/db?sslmode=require", false, true},
		{"postgres://u@db.example.com/db?sslmode=verify-ca&sslrootcert=system", false, true},
		{"postgres://u@db.example.com/db?sslmode=verify-full", false, true},
		{"postgres://u@127.0.0.1,db.example.com/db?sslmode=require", false, true},
		{"postgres://u@localhost.example.com/db?sslmode=disable", false, false},
		{"postgres://u@localhost./db?sslmode=disable", false, false},
		{"postgres://u@LOCALHOST/db?sslmode=disable", false, false},
		{"postgres://u@localhost.localdomain/db?sslmode=disable", false, false},
		{"postgres://u@127.0.0.1.nip.io/db?sslmode=disable", false, false},
		{"postgres://u@[::ffff:127.0.0.1]/db?sslmode=disable", true, false},
	}
	for _, tt := range tests {
		cc, err := pgx.ParseConfig(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		got := postgresTransport(cc)
		if got.local != tt.local || got.encrypted != tt.encrypted {
			t.Errorf("%s: local=%v encrypted=%v; want %v %v", tt.url, got.local, got.encrypted, tt.local, tt.encrypted)
		}
	}
}

func TestTransport_MySQL(t *testing.T) {
	tests := []struct {
		url              string
		local, encrypted bool
	}{
		{"mysql://u@127.0.0.1/db", true, false},
		{"mysql://u@localhost:3306/db", true, false},
		{"mysql://u@/db", true, false},
		{"mysql://u@localhost/db?socket=/run/mysqld/mysqld.sock", true, false},
		{"mysql://u@db.example.com/db?socket=/run/mysqld/mysqld.sock", true, false},
		{"mysql://u@localhost.:3306/db", false, false},
		{"mysql://u@LocalHost/db", false, false},
		{"mysql://u@127.0.0.1.nip.io/db", false, false},
		{"mysql://u@[::1]:3306/db", true, false},
		{"mysql://u@db.example.com/db", false, false},
		{"mysql://u@db.example.com/db?tls=false", false, false},
		{"mysql://u@db.example.com/db?tls=preferred", false, false},
		{"mysql://u@db.example.com/db?tls=true", false, true},
		{"mysql://u@db.example.com/db?tls=skip-verify", false, true},
		{"mysql://u@db.example.com/db?tls=true&allowFallbackToPlaintext=true", false, false},
	}
	for _, tt := range tests {
		mc, err := mysqlConfig(tt.url)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		got := mysqlTransport(mc)
		if got.local != tt.local || got.encrypted != tt.encrypted {
			t.Errorf("%s: local=%v encrypted=%v; want %v %v", tt.url, got.local, got.encrypted, tt.local, tt.encrypted)
		}
	}
}

func TestMySQLConfig(t *testing.T) {
	mc, err := mysqlConfig("mysql://kura:p%40ss@db.example.com:3307/kura_db?tls=true&readTimeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	if mc.User != "kura" || mc.Passwd != "p@ss" || mc.Addr != "db.example.com:3307" || mc.Net != "tcp" ||
		mc.DBName != "kura_db" || !mc.ParseTime || mc.InterpolateParams || mc.Loc.String() != "UTC" ||
		mc.Params["time_zone"] != "'+00:00'" || mc.ReadTimeout.Seconds() != 3 || !mc.ClientFoundRows {
		t.Fatalf("config = %+v", mc)
	}
}

func TestRebind(t *testing.T) {
	db := &DB{dialect: Postgres}
	if got := db.rebind("SELECT a FROM t WHERE b = ? AND c < ? LIMIT ?"); got != "SELECT a FROM t WHERE b = $1 AND c < $2 LIMIT $3" {
		t.Fatalf("rebind = %q", got)
	}
	const q = "SELECT id, ts(s.created_at), counts(x), ts(updated_at) FROM t WHERE id = ?"
	for _, tt := range []struct {
		d    Dialect
		want string
	}{
		{Postgres, "SELECT id, s.created_at, counts(x), updated_at FROM t WHERE id = $1"},
		{MySQL, "SELECT id, s.created_at, counts(x), updated_at FROM t WHERE id = ?"},
		{SQLite, "SELECT id, CAST(s.created_at AS TEXT), counts(x), CAST(updated_at AS TEXT) FROM t WHERE id = ?"},
	} {
		db := &DB{dialect: tt.d}
		if got := db.rebind(q); got != tt.want {
			t.Errorf("rebind(%s) = %q, want %q", tt.d, got, tt.want)
		}
		if got := db.rebind(q); got != tt.want { // from the cache
			t.Errorf("cached rebind(%s) = %q", tt.d, got)
		}
	}
	db.dialect = MySQL
	if got := db.rebind("x = ?"); got != "x = ?" {
		t.Fatalf("rebind(mysql) = %q", got)
	}
}

func TestSQLitePath(t *testing.T) {
	for in, want := range map[string]string{
		"sqlite:///var/lib/kura.db": "/var/lib/kura.db",
		"file:///tmp/a%20b.db":      "/tmp/a b.db",
		"/tmp/a%20b.db":             "/tmp/a%20b.db",
	} {
		if got, err := sqlitePath(in); err != nil || got != want {
			t.Errorf("sqlitePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{":memory:", "sqlite::memory:", "sqlite:k.db?_pragma=x"} {
		if _, err := sqlitePath(bad); err == nil {
			t.Errorf("sqlitePath(%q) succeeded", bad)
		}
	}
}
