package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// replicaInUse waits until every replica of db serves reads.
func replicaInUse(tb testing.TB, db *sqldb.DB) {
	tb.Helper()
	testenv.Wait(tb, 0, "the replica in use", func() bool {
		for _, r := range db.ReplicaStats() {
			if !r.InUse {
				return false
			}
		}
		return true
	})
}

// replicaHasUser waits until the replica itself has applied user id's
// row (a read through db might have run on the primary).
func replicaHasUser(tb testing.TB, set *testenv.PGReplicaSet, id int64) {
	tb.Helper()
	r, err := sql.Open("pgx", set.ReplicaURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	testenv.Wait(tb, 0, "the user on the replica", func() bool {
		var n int
		err := r.QueryRow("SELECT count(*) FROM users WHERE id = $1", id).Scan(&n)
		return err == nil && (n == 1 || id == 0)
	})
}

func replicaReads(db *sqldb.DB) int64 {
	var n int64
	for _, r := range db.ReplicaStats() {
		n += r.Reads
	}
	return n
}

// TestReplicas runs on a primary and a streaming replica of the test's own
// that applies changes 2 s after their commit.
func TestReplicas(t *testing.T) {
	set := testenv.StartPGReplicaSet(t, 2*time.Second)
	ctx := context.Background()
	db := MustOpenConfig(t, sqldb.Config{URL: set.PrimaryURL(), ReplicaURLs: []string{set.ReplicaURL()}}, true)
	replicaInUse(t, db)
	users := accounts.NewUserService(db)
	replicaHasUser(t, set, 0) // the schema, at least

	t.Run("OwnWritesVisible", func(t *testing.T) {
		u := MustCreateUser(t, db, "own@example.com", "own")
		as := kura.NewContextWithUser(ctx, u)
		stale := 0
		for i := range 300 {
			name := fmt.Sprintf("own%d", i)
			if _, err := users.UpdateUser(as, u.ID, kura.UserUpdate{Username: &name}); err != nil {
				t.Fatal(err)
			}
			got, err := users.FindUserByID(as, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Username != name {
				stale++
			}
		}
		if stale != 0 {
			t.Fatalf("%d of 300 reads of one's own write were stale", stale)
		}
	})

	t.Run("OthersMayReadStale", func(t *testing.T) {
		replicaInUse(t, db)
		before := replicaReads(db)
		u := MustCreateUser(t, db, "fresh@example.com", "fresh")
		_, err := users.FindPublicUser(ctx, u.ID)
		if replicaReads(db) != before+1 {
			t.Fatalf("replica reads = %d; want %d: a public read goes to the replica", replicaReads(db), before+1)
		}
		// The replica applies the insert 2 s after its commit: until then
		// the new user is not there for others.
		wantCode(t, err, kura.ENOTFOUND)
		testenv.Wait(t, 0, "the new user on the replica", func() bool {
			_, err := users.FindPublicUser(ctx, u.ID)
			return err == nil
		})
	})

	t.Run("ReplicaStoppedUnderLoad", func(t *testing.T) {
		u := MustCreateUser(t, db, "load@example.com", "load")
		replicaHasUser(t, set, u.ID)
		replicaInUse(t, db)
		var failed, reads atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					reads.Add(1)
					if _, err := users.FindPublicUser(ctx, u.ID); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			})
		}
		testenv.Wait(t, 0, "reads on the replica", func() bool { return replicaReads(db) > 200 })
		set.StopReplica()
		at := reads.Load()
		testenv.Wait(t, 0, "reads after the stop", func() bool { return reads.Load() > at+2000 })
		close(stop)
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Fatalf("%d of %d reads failed with the replica stopped; first: %v", n, reads.Load(), firstErr.Load())
		}
		testenv.Wait(t, 0, "the replica skipped", func() bool {
			r := db.ReplicaStats()[0]
			return !r.InUse && r.Skipped != ""
		})
		t.Logf("%d reads, 0 failed; replica: %+v", reads.Load(), db.ReplicaStats()[0])
		set.StartReplica()
		replicaInUse(t, db)
	})
}

// TestOpen_Replicas: a replica URL that is not a standby is refused at
// start; one that is down is skipped without failing Open.
func TestOpen_Replicas(t *testing.T) {
	ctx := context.Background()
	primary := MustTestURL(t, sqldb.Postgres)
	t.Run("ErrPrimaryAsReplica", func(t *testing.T) {
		// The same server as the primary, spelt otherwise.
		same := primary + "&application_name=replica"
		db, err := sqldb.Open(ctx, sqldb.Config{URL: primary, ReplicaURLs: []string{same}})
		if err == nil {
			db.Close()
			t.Fatal("Open accepted a replica URL naming a server not in recovery")
		}
		if !strings.Contains(err.Error(), "not in recovery") {
			t.Fatalf("error = %v; want it to say the server is not in recovery", err)
		}
	})
	t.Run("ErrSameURL", func(t *testing.T) {
		_, err := sqldb.Open(ctx, sqldb.Config{URL: primary, ReplicaURLs: []string{primary}})
		if err == nil || !strings.Contains(err.Error(), "database URL itself") {
			t.Fatalf("error = %v; want the URL itself refused", err)
		}
	})
	t.Run("ErrNotPostgres", func(t *testing.T) {
		_, err := sqldb.Open(ctx, sqldb.Config{URL: t.TempDir() + "/kura.db", ReplicaURLs: []string{primary}})
		if err == nil || !strings.Contains(err.Error(), "need PostgreSQL streaming replication") {
			t.Fatalf("error = %v; want replicas refused on SQLite", err)
		}
		_, err = sqldb.Open(ctx, sqldb.Config{URL: primary, ReplicaURLs: []string{"mysql://root@127.0.0.1:3306/test"}})
		if err == nil || !strings.Contains(err.Error(), "not a postgres:// URL") {
			t.Fatalf("error = %v; want a MySQL replica refused", err)
		}
	})
	t.Run("DownAtStart", func(t *testing.T) {
		down := "postgres://postgres@127.0.0.1:" + testenv.FreePort(t) + "/postgres?sslmode=disable"
		db := MustOpenConfig(t, sqldb.Config{URL: primary, ReplicaURLs: []string{down}}, false)
		r := db.ReplicaStats()[0]
		if r.InUse || r.Skipped != "down" {
			t.Fatalf("replica = %+v; want skipped as down", r)
		}
	})
}

// TestReplicas_WaitForOwnWrite: with a replica that applies changes at
// once, a user's read after their own write waits the few milliseconds
// the replica needs and is served there, never stale.
func TestReplicas_WaitForOwnWrite(t *testing.T) {
	set := testenv.StartPGReplicaSet(t, 0)
	ctx := context.Background()
	db := MustOpenConfig(t, sqldb.Config{URL: set.PrimaryURL(), ReplicaURLs: []string{set.ReplicaURL()}}, true)
	replicaInUse(t, db)
	users := accounts.NewUserService(db)
	u := MustCreateUser(t, db, "wait@example.com", "wait")
	as := kura.NewContextWithUser(ctx, u)
	before, stale := replicaReads(db), 0
	for i := range 300 {
		name := fmt.Sprintf("wait%d", i)
		if _, err := users.UpdateUser(as, u.ID, kura.UserUpdate{Username: &name}); err != nil {
			t.Fatal(err)
		}
		got, err := users.FindUserByID(as, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Username != name {
			stale++
		}
	}
	onReplica := replicaReads(db) - before
	t.Logf("300 pairs: %d reads of one's own write on the replica, %d stale", onReplica, stale)
	if stale != 0 || onReplica == 0 {
		t.Fatalf("%d stale, %d on the replica; want 0 stale and some on the replica", stale, onReplica)
	}
}

// TestOpen_QueryExecModeExec: default_query_exec_mode=exec in the URL, the
// switch docs/SCALING.md gives for PgBouncer's transaction mode before
// 1.21, leaves the hot reads working without prepared statements.
func TestOpen_QueryExecModeExec(t *testing.T) {
	u := MustTestURL(t, sqldb.Postgres)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	db := MustOpenConfig(t, sqldb.Config{URL: u + sep + "default_query_exec_mode=exec"}, true)
	created := MustCreateUser(t, db, "exec@example.com", "exec")
	got, err := accounts.NewUserService(db).FindUserByID(context.Background(), created.ID)
	if err != nil || got.Username != "exec" {
		t.Fatalf("FindUserByID = %+v, %v", got, err)
	}
	var n int
	if err := db.Writer().QueryRow("SELECT count(*) FROM pg_prepared_statements").Scan(&n); err != nil || n != 0 {
		t.Fatalf("prepared statements on a connection = %d, %v; want none", n, err)
	}
}

// TestOpen_ReplicaPasswordNeverLogged: a replica down at start is logged
// without the password of its URL.
func TestOpen_ReplicaPasswordNeverLogged(t *testing.T) {
	var logs testenv.LogBuffer
	down := "postgres://postgres:pw-replica-secret@127.0.0.1:" + testenv.FreePort(t) + "/postgres?sslmode=disable"
	db := MustOpenConfig(t, sqldb.Config{URL: MustTestURL(t, sqldb.Postgres), ReplicaURLs: []string{down},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, false)
	db.Close()
	if !strings.Contains(logs.String(), "read replica skipped") {
		t.Fatalf("no log line of the replica skipped: %s", logs.String())
	}
	if strings.Contains(logs.String(), "pw-replica-secret") {
		t.Fatalf("the replica's password is in the log: %s", logs.String())
	}
}
