package testenv_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestStartPGReplicaSet: the replica is in recovery and receives the
// primary's writes after the apply delay.
func TestStartPGReplicaSet(t *testing.T) {
	s := testenv.StartPGReplicaSet(t, 200*time.Millisecond)
	ctx := context.Background()
	primary, err := sql.Open("pgx", s.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	replica, err := sql.Open("pgx", s.ReplicaURL())
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	var rec bool
	if err := replica.QueryRowContext(ctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil || !rec {
		t.Fatalf("replica in recovery = %v, %v; want true", rec, err)
	}
	if _, err := primary.ExecContext(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	testenv.Wait(t, 0, "the row on the replica", func() bool {
		var n int
		return replica.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n) == nil && n == 1
	})
}
