package sqldb_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// TestOpenWait_Advice: a missing database is not waited for and gets the
// statement that makes it on its engine; a server that does not answer is
// retried for the wait and named by its address.
func TestOpenWait_Advice(t *testing.T) {
	testenv.PostgresDatabase(t) // skips, or fails under CI, without the servers
	testenv.MySQLDatabase(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		url         string
		wait        time.Duration
		missing     bool
		unreachable bool
		want        []string
	}{
		{"postgres://postgres@127.0.0.1:5432/kura_no_such_db?sslmode=disable", time.Minute, true, false,
			[]string{`the database "kura_no_such_db" does not exist on 127.0.0.1:5432`, "createdb -h HOST -U USER kura_no_such_db, or CREATE DATABASE kura_no_such_db; as a superuser"}},
		{"mysql://root@127.0.0.1:3306/kura_no_such_db", time.Minute, true, false,
			[]string{`the database "kura_no_such_db" does not exist on 127.0.0.1:3306`, "CREATE DATABASE kura_no_such_db CHARACTER SET utf8mb4;"}},
		{"postgres://postgres@127.0.0.1:1/kura?sslmode=disable", 0, false, true,
			[]string{"is PostgreSQL running at 127.0.0.1:1? (checked once; DATABASE_URL names the server)"}},
		{"mysql://root@127.0.0.1:1/kura", 300 * time.Millisecond, false, true,
			[]string{"is MySQL/MariaDB running at 127.0.0.1:1? (retried for 300ms, KURA_DB_CONNECT_TIMEOUT"}},
	} {
		start := time.Now()
		db, err := sqldb.OpenWait(context.Background(), sqldb.Config{URL: c.url, Logger: log}, c.wait, log)
		if err == nil {
			db.Close()
			t.Fatalf("%s opened", c.url)
		}
		if sqldb.MissingDatabase(err) != c.missing || sqldb.Unreachable(err) != c.unreachable {
			t.Errorf("%s: missing %v, unreachable %v: %v", c.url, sqldb.MissingDatabase(err), sqldb.Unreachable(err), err)
		}
		if c.missing && time.Since(start) > 10*time.Second {
			t.Errorf("%s: a missing database was waited for (%s)", c.url, time.Since(start))
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.url, err, w)
			}
		}
	}
}
