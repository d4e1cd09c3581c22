package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresDatabase creates an empty PostgreSQL database for one test, drops
// it when the test ends, and returns its URL. It skips or fails like
// PostgresURL when no server answers.
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	return PostgresDatabaseNamed(tb, "kura_test_")
}

// PostgresDatabaseNamed is PostgresDatabase with the database's name
// starting with prefix (lower-case letters, digits, underscores), such as
// the name of the feature whose tests made it.
func PostgresDatabaseNamed(tb testing.TB, prefix string) string {
	tb.Helper()
	admin := PostgresURL(tb)
	name := prefix + RandomSuffix()
	db := openAdmin(tb, "pgx", admin)
	exec(tb, db, "CREATE DATABASE "+name)
	tb.Cleanup(func() {
		exec(tb, db, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// MySQLDatabase creates an empty MySQL/MariaDB database for one test, drops
// it when the test ends, and returns its URL.
func MySQLDatabase(tb testing.TB) string {
	tb.Helper()
	return MySQLDatabaseNamed(tb, "kura_test_")
}

// MySQLDatabaseNamed is MySQLDatabase with the database's name starting
// with prefix.
func MySQLDatabaseNamed(tb testing.TB, prefix string) string {
	tb.Helper()
	admin := MySQLURL(tb)
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("parse KURA_TEST_MYSQL_URL: %v", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	name := prefix + RandomSuffix()
	db := openAdmin(tb, "mysql", cfg.FormatDSN())
	exec(tb, db, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	tb.Cleanup(func() {
		exec(tb, db, "DROP DATABASE IF EXISTS "+name)
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}

func openAdmin(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("open %s admin connection: %v", driver, err)
	}
	return db
}

func exec(tb testing.TB, db *sql.DB, query string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, query); err != nil {
		tb.Fatalf("%s: %v", strings.Fields(query)[0]+" "+strings.Fields(query)[1], err)
	}
}

// RandomSuffix returns 12 random hex digits, for names that must not clash
// between tests running at once.
func RandomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
