package sqldb_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// TestDB_PoolStats exhausts the writer's pool and checks that the call
// that finds no connection within PoolTimeout is counted as a wait and an
// acquire timeout of that pool only, beside database/sql's figures.
func TestDB_PoolStats(t *testing.T) {
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			cfg := sqldb.Config{URL: MustTestURL(t, d), PoolSize: 1, MaxOverflow: -1, PoolTimeout: 50 * time.Millisecond}
			db := MustOpenConfig(t, cfg, false)
			ctx := context.Background()

			want := []string{"main"}
			if d == sqldb.SQLite {
				want = []string{"writer", "reader"}
			}
			stats := db.PoolStats()
			if len(stats) != len(want) {
				t.Fatalf("PoolStats() has %d pools, want %v", len(stats), want)
			}
			for i, s := range stats {
				if s.Name != want[i] || s.MaxOpenConnections < 1 || s.AcquireTimeouts != 0 || s.GateWaits != 0 {
					t.Fatalf("pool %d at start: %+v, want %s with no waits or timeouts", i, s, want[i])
				}
			}

			held, err := db.HoldConn(ctx, db.Writer())
			if err != nil {
				t.Fatal(err)
			}
			if s := db.PoolStats()[0]; s.InUse != 1 {
				t.Errorf("writer in use = %d while held, want 1", s.InUse)
			}
			for range 2 {
				c, err := db.HoldConn(ctx, db.Writer())
				if kura.ErrorCode(err) != kura.EUNAVAILABLE {
					closeIf(c)
					t.Fatalf("a second writer connection: %v, want EUNAVAILABLE", err)
				}
			}
			// A call whose own context ends while it waits is not a timeout.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			held2, err := db.HoldConn(cctx, db.Writer())
			closeIf(held2)
			if err == nil {
				t.Fatal("a cancelled call got a connection of a full pool")
			}
			held.Close()

			w := db.PoolStats()[0]
			if w.AcquireTimeouts != 2 || w.GateWaits != 3 || w.GateWaitDuration < 100*time.Millisecond {
				t.Errorf("writer after two timeouts: timeouts=%d waits=%d waited=%s, want 2, 3 and 100ms or more",
					w.AcquireTimeouts, w.GateWaits, w.GateWaitDuration)
			}
			if d == sqldb.SQLite {
				if r := db.PoolStats()[1]; r.AcquireTimeouts != 0 || r.GateWaits != 0 {
					t.Errorf("reader counted the writer's waits: %+v", r)
				}
			}
		})
	}
}

func closeIf(c io.Closer) {
	if c != nil {
		c.Close()
	}
}
