package sqldb_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/kura-dev/kura/sqldb"
)

// TestPool_OverflowKeptThenTrimmed checks that connections opened above
// PoolSize are reused while the load lasts (not closed on every return,
// which makes a busy pool reconnect for every query) and are closed when
// the trimmer runs after the load.
func TestPool_OverflowKeptThenTrimmed(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, d), PoolSize: 1, MaxOverflow: 3}, false)
			pool := db.Writer()
			ctx := context.Background()
			var conns []*sql.Conn
			for range 4 {
				c, err := pool.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			for _, c := range conns {
				c.Close()
			}
			if s := pool.Stats(); s.Idle != 4 || s.MaxIdleClosed != 0 {
				t.Fatalf("after a burst of 4: idle=%d closed=%d, want 4 idle and none closed", s.Idle, s.MaxIdleClosed)
			}
			sqldb.TrimIdle(pool, 1, 4)
			if s := pool.Stats(); s.Idle != 1 || s.OpenConnections != 1 {
				t.Fatalf("after trimming: idle=%d open=%d, want 1", s.Idle, s.OpenConnections)
			}
			// The pool can still grow to PoolSize+MaxOverflow.
			if s := pool.Stats(); s.MaxOpenConnections != 4 {
				t.Fatalf("max open = %d, want 4", s.MaxOpenConnections)
			}
		})
	}
}
