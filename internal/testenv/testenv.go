// Package testenv finds the database and cache servers that tests talk to.
//
// Each server is looked up at its standard local address, or at the URL in
// KURA_TEST_POSTGRES_URL, KURA_TEST_MYSQL_URL or KURA_TEST_REDIS_URL. A test
// that needs a server that does not answer is skipped with a clear message,
// except under CI=true, where it fails: CI must never pass by skipping.
package testenv

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Default server URLs, used when the KURA_TEST_* variable is unset.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	DefaultMySQLURL    = "mysql://root@127.0.0.1:3306/test"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// PostgresURL returns the URL of a PostgreSQL server for tests, or skips tb.
// The URL's database is one the tests may connect to in order to create
// databases of their own.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	return need(tb, "PostgreSQL", "KURA_TEST_POSTGRES_URL", DefaultPostgresURL)
}

// MySQLURL returns the URL of a MySQL or MariaDB server for tests, or skips tb.
func MySQLURL(tb testing.TB) string {
	tb.Helper()
	return need(tb, "MySQL/MariaDB", "KURA_TEST_MYSQL_URL", DefaultMySQLURL)
}

// RedisURL returns the URL of a Redis server for tests, or skips tb.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	return need(tb, "Redis", "KURA_TEST_REDIS_URL", DefaultRedisURL)
}

// CI reports whether the tests run under CI=true, where a missing server is
// a failure rather than a skip.
func CI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

func need(tb testing.TB, name, env, def string) string {
	tb.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	if addr, ok := dialAddr(raw); ok {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			conn.Close()
			return raw
		}
	} else {
		return raw // a socket path or a form we cannot probe: let the test try
	}
	msg := name + " is not reachable at the address in " + env + " (or its default); start it or set " + env
	if CI() {
		tb.Fatal(msg + " (CI=true: tests must not skip)")
	}
	tb.Skip(msg)
	return ""
}

// dialAddr returns host:port of a server URL without its credentials.
func dialAddr(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "postgres", "postgresql":
			port = "5432"
		case "mysql":
			port = "3306"
		case "redis", "rediss":
			port = "6379"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), true
}
