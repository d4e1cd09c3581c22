package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// The MySQL queue's own tests: what the shared suite (jobs_test.go) cannot
// see from one client, such as several processes on one database, rows
// left behind by a dead process and the fetch's locking. Each "process"
// is a client on a DB handle of its own, so it shares no pool and no
// in-process wake-up with the others.

type myArgs struct {
	N int `json:"n"`
}

func (myArgs) Kind() string { return "mysqltest.job" }

type myTickArgs struct{}

func (myTickArgs) Kind() string { return "mysqltest.tick" }

type myOrphanArgs struct{}

func (myOrphanArgs) Kind() string { return "mysqltest.orphan" }

// mysqlURL returns the URL of a fresh, migrated MariaDB/MySQL database.
func mysqlURL(t *testing.T) string {
	t.Helper()
	url := testenv.MySQLDatabase(t)
	db := openMySQL(t, url)
	if err := db.MigrateUp(context.Background(), store.Schema, Schema); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return url
}

// openMySQL opens a DB handle of its own on url, closed when the test ends.
func openMySQL(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func myConfig(ws *Workers, logs *testenv.LogBuffer) Config {
	return Config{
		Workers:       ws,
		PruneInterval: -1,
		PollInterval:  50 * time.Millisecond,
		Backoff:       func(int) time.Duration { return 10 * time.Millisecond },
		JobTimeout:    5 * time.Second,
		RescueAfter:   10 * time.Second,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// myClient makes a client; one with workers is started, and stopped when
// the test ends.
func myClient(t *testing.T, db *sqldb.DB, cfg Config) *Client {
	t.Helper()
	c, err := New(db, cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	if cfg.Workers != nil {
		if err := c.Start(context.Background()); err != nil {
			t.Fatalf("start: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	return c
}

// myWaitState waits until the job is in state, and returns its row.
func myWaitState(t *testing.T, c *Client, id int64, want State) *Row {
	t.Helper()
	var row *Row
	var err error
	testenv.Wait(t, 0, fmt.Sprintf("job %d to be %s", id, want), func() bool {
		row, err = c.Get(context.Background(), id)
		return err != nil || row.State == want
	})
	if err != nil {
		t.Fatalf("get %d: %v", id, err)
	}
	return row
}

// attemptRecorded reports whether c no longer runs an attempt of job id:
// its end has been recorded (or given up on).
func attemptRecorded(c *Client, id int64) bool {
	b := c.b.(*mysqlBackend)
	b.mu.Lock()
	defer b.mu.Unlock()
	_, running := b.running[id]
	return !running
}

func TestMySQL_TwoProcessesRunEachJobOnce(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	var mu sync.Mutex
	runs := map[int]int{}
	now := map[int]bool{}
	// Each process's first job waits until the other process has a job
	// too, so both take part however fast the first one starts.
	var working atomic.Int32
	both := make(chan struct{})
	process := func() *Workers {
		var first sync.Once
		ws := NewWorkers()
		AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error {
			mu.Lock()
			if now[j.Args.N] {
				t.Errorf("job %d runs twice at once", j.Args.N)
			}
			now[j.Args.N] = true
			runs[j.Args.N]++
			mu.Unlock()
			first.Do(func() {
				if working.Add(1) == 2 {
					close(both)
				}
			})
			select {
			case <-both:
			case <-ctx.Done():
				return ctx.Err()
			}
			mu.Lock()
			delete(now, j.Args.N)
			mu.Unlock()
			return nil
		}))
		return ws
	}

	enq := myClient(t, openMySQL(t, url), Config{})
	const n = 200
	for i := range n {
		if _, err := enq.Enqueue(ctx, myArgs{N: i}, &EnqueueOpts{Priority: 1 + i%4}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := myConfig(nil, &logs)
	cfg.Concurrency = 4
	cfg.Workers = process()
	a := myClient(t, openMySQL(t, url), cfg)
	cfg.Workers = process()
	b := myClient(t, openMySQL(t, url), cfg)

	testenv.Wait(t, 0, "all jobs to complete", func() bool {
		c, err := enq.Counts(ctx)
		return err == nil && c[StateCompleted] == n
	})
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if runs[i] != 1 {
			t.Errorf("job %d ran %d times", i, runs[i])
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Completed+sb.Completed != n || sa.Completed == 0 || sb.Completed == 0 {
		t.Errorf("completed by each process: %d and %d; want both working, %d in all", sa.Completed, sb.Completed, n)
	}
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logs: %s", logs.String())
	}
}

// The fetch reads and locks only the rows it takes: a second fetch at the
// same time takes the next ones rather than finding everything locked, and
// an insert is not held up by the first fetch's locks.
func TestMySQL_FetchLocksOnlyItsRows(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	db := openMySQL(t, url)
	enq := myClient(t, db, Config{})
	// Finished jobs and jobs scheduled later (of priority 1, before the
	// due jobs of priority 2 in the fetch's order) are in the way.
	var later int64
	for i := range 60 {
		if _, err := enq.Enqueue(ctx, myArgs{N: i}, &EnqueueOpts{Priority: 1 + i%4}); err != nil {
			t.Fatal(err)
		}
		r, err := enq.Enqueue(ctx, myArgs{N: -i}, &EnqueueOpts{ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		later = r.ID
	}
	if _, err := db.Writer().ExecContext(ctx, "UPDATE kura_jobs SET state = 'completed', finalized_at = ? WHERE id % 5 = 0", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	b := &mysqlBackend{engine: engine{cfg: Config{}.WithDefaults(), db: db}}
	fetch := func() (*sql.Tx, []int64) {
		tx, err := db.Writer().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := tx.QueryContext(ctx, mysqlFetch, b.now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := sqldb.ScanAll(rows, scanID)
		if err != nil {
			t.Fatal(err)
		}
		return tx, ids
	}
	tx1, first := fetch()
	defer tx1.Rollback()
	tx2, second := fetch()
	defer tx2.Rollback()
	if len(first) != 10 || len(second) != 10 {
		t.Fatalf("two fetches at once took %d and %d jobs, want 10 each", len(first), len(second))
	}
	seen := map[int64]bool{}
	for _, id := range append(first, second...) {
		if seen[id] {
			t.Fatalf("job %d taken by both fetches: %v %v", id, first, second)
		}
		seen[id] = true
	}
	ictx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := enq.Enqueue(ictx, myArgs{N: 1000}, nil); err != nil {
		t.Fatalf("an insert during a fetch: %v", err)
	}
	// A job scheduled later, which the second fetch passed over, is not
	// locked.
	if _, err := db.Writer().ExecContext(ictx, "UPDATE kura_jobs SET max_attempts = max_attempts + 1 WHERE id = ?", later); err != nil {
		t.Fatalf("update a scheduled job during a fetch: %v", err)
	}
}

func TestMySQL_RescueJobOfDeadProcess(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	db := openMySQL(t, url)
	var logs testenv.LogBuffer
	enq := myClient(t, db, Config{})
	alive, err := enq.Enqueue(ctx, myArgs{N: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	last, err := enq.Enqueue(ctx, myArgs{N: 2}, &EnqueueOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	recent, err := enq.Enqueue(ctx, myArgs{N: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A process took them and died: they stay running. Only the first two
	// began longer ago than RescueAfter.
	var clock FakeClock
	old := time.Now().UTC().Add(-2 * time.Hour)
	for id, at := range map[int64]time.Time{alive.ID: old, last.ID: old, recent.ID: time.Now().UTC()} {
		_, err := db.Writer().ExecContext(ctx, `UPDATE kura_jobs SET state = 'running', attempt = 1,
			attempted_at = ?, attempted_by = 'dead' WHERE id = ?`, at, id)
		if err != nil {
			t.Fatal(err)
		}
	}

	var ran sync.Map
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error {
		ran.Store(j.Args.N, j.Attempt)
		return nil
	}))
	cfg := myConfig(ws, &logs)
	cfg.JobTimeout = 500 * time.Millisecond
	cfg.RescueAfter = time.Hour
	cfg.Now = clock.Now
	c := myClient(t, openMySQL(t, url), cfg)

	row := myWaitState(t, enq, alive.ID, StateCompleted)
	if row.Attempt != 2 || len(row.Errors) != 1 || row.Errors[0].Attempt != 1 || !strings.Contains(row.LastError(), "job rescued") {
		t.Errorf("rescued job: attempt %d errors %+v", row.Attempt, row.Errors)
	}
	row = myWaitState(t, enq, last.ID, StateDiscarded)
	if row.FinalizedAt == nil || !strings.Contains(row.LastError(), "job rescued") {
		t.Errorf("rescued job out of attempts: finalized %v errors %+v", row.FinalizedAt, row.Errors)
	}
	if _, ok := ran.Load(2); ok {
		t.Error("a job out of attempts ran again")
	}
	// The one that began recently is left to its process until
	// RescueAfter has passed, then rescued too: by the rescue that a
	// start runs at once.
	if row, _ = enq.Get(ctx, recent.ID); row.State != StateRunning {
		t.Errorf("a job running for less than RescueAfter is %s", row.State)
	}
	clock.Advance(cfg.RescueAfter)
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	myWaitState(t, enq, recent.ID, StateCompleted)
	if !strings.Contains(logs.String(), "rescued jobs") {
		t.Errorf("the rescue was not logged: %s", logs.String())
	}
}

func TestMySQL_PeriodicOncePerPeriodAcrossProcesses(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	var runs atomic.Int32
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myTickArgs](func(ctx context.Context, j *Job[myTickArgs]) error {
		runs.Add(1)
		return nil
	}))
	const every = 200 * time.Millisecond
	cfg := myConfig(ws, &logs)
	cfg.Periodic = []PeriodicJob{{Every: every, Args: func() Args { return myTickArgs{} }, RunOnStart: true}}

	begin := time.Now()
	var clients []*Client
	for range 3 {
		c, err := New(openMySQL(t, url), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	db := openMySQL(t, url)
	testenv.Wait(t, 0, "5 periods of the periodic job", func() bool {
		var n int
		err := db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM kura_jobs WHERE kind = ?", myTickArgs{}.Kind()).Scan(&n)
		return err == nil && n >= 5
	})
	for _, c := range clients {
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now()

	rows, err := db.Reader().QueryContext(ctx, "SELECT unique_key FROM kura_jobs WHERE kind = ? ORDER BY id", myTickArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sqldb.ScanAll(rows, func(s sqldb.Scanner) (string, error) {
		var k string
		err := s.Scan(&k)
		return k, err
	})
	if err != nil {
		t.Fatal(err)
	}
	periods := int(end.Truncate(every).Sub(begin.Truncate(every))/every) + 1
	if len(keys) > periods || len(keys) < periods-2 {
		t.Fatalf("%d periodic jobs in %d periods from 3 processes: %v", len(keys), periods, keys)
	}
	for i, k := range keys {
		if !strings.HasPrefix(k, "mysqltest.tick:") {
			t.Fatalf("unique key %q", k)
		}
		if i > 0 {
			prev, _ := strconv.ParseFloat(strings.TrimPrefix(keys[i-1], "mysqltest.tick:"), 64)
			cur, _ := strconv.ParseFloat(strings.TrimPrefix(k, "mysqltest.tick:"), 64)
			if d := time.Duration((cur - prev) * float64(time.Second)); d < every-time.Millisecond || d > every+time.Millisecond {
				t.Errorf("periods %s and %s are %s apart, want %s", keys[i-1], k, d, every)
			}
		}
	}
	if int(runs.Load()) > len(keys) {
		t.Errorf("%d runs of %d periodic jobs", runs.Load(), len(keys))
	}
}

func TestMySQL_CancelRunningJob(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	started := make(chan int, 2)
	ended := make(chan error, 2)
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error {
		started <- j.Args.N
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	}))
	db := openMySQL(t, url)
	c := myClient(t, db, myConfig(ws, &logs))
	other := myClient(t, openMySQL(t, url), Config{}) // another process

	for _, tc := range []struct {
		name string
		by   *Client
		n    int
	}{{"by the client working it", c, 1}, {"by another process", other, 2}} {
		row, err := c.Enqueue(ctx, myArgs{N: tc.n}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		begin := time.Now()
		got, err := tc.by.Cancel(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateCancelled || got.FinalizedAt == nil {
			t.Fatalf("%s: cancelled a running job: %s finalized %v", tc.name, got.State, got.FinalizedAt)
		}
		select {
		case err := <-ended:
			if err != context.Canceled {
				t.Errorf("%s: the job's context ended with %v", tc.name, err)
			}
		case <-time.After(testenv.WaitTimeout):
			t.Fatalf("%s: the running job's context was not cancelled", tc.name)
		}
		took := time.Since(begin)
		// Its end is not recorded over the cancellation, and it never
		// runs again.
		testenv.Wait(t, 0, "the end of the cancelled attempt to be recorded", func() bool { return attemptRecorded(c, row.ID) })
		got, err = c.Get(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != StateCancelled || got.Attempt != 1 || len(got.Errors) != 0 {
			t.Errorf("%s: after the attempt ended: %s attempt %d errors %+v (took %s)", tc.name, got.State, got.Attempt, got.Errors, took)
		}
		// Cancelling a finished job is refused and changes nothing.
		if _, err := tc.by.Cancel(ctx, row.ID); kura.ErrorCode(err) != kura.ECONFLICT {
			t.Errorf("%s: cancel again: %v, want a conflict", tc.name, err)
		}
		if again, err := c.Get(ctx, row.ID); err != nil || !again.FinalizedAt.Equal(*got.FinalizedAt) {
			t.Errorf("%s: after cancelling again: %v %v", tc.name, again, err)
		}
	}
	select {
	case n := <-started:
		t.Errorf("job %d ran again", n)
	default:
	}
}

func TestMySQL_PanicIsRetriedAndWorkGoesOn(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error {
		if j.Args.N == 0 && j.Attempt == 1 {
			var m map[string]int
			m["boom"]++ // a nil map: a real runtime panic
		}
		return nil
	}))
	cfg := myConfig(ws, &logs)
	cfg.Concurrency = 1
	c := myClient(t, openMySQL(t, url), cfg)
	bad, err := c.Enqueue(ctx, myArgs{N: 0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var good []int64
	for i := 1; i <= 5; i++ {
		r, err := c.Enqueue(ctx, myArgs{N: i}, nil)
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, r.ID)
	}
	row := myWaitState(t, c, bad.ID, StateCompleted)
	if row.Attempt != 2 || len(row.Errors) != 1 {
		t.Fatalf("after a panic: attempt %d errors %+v", row.Attempt, row.Errors)
	}
	e := row.Errors[0]
	if !strings.Contains(e.Error, "panic: assignment to entry in nil map") || !strings.Contains(e.Trace, "goroutine") || e.Attempt != 1 || e.At.IsZero() {
		t.Errorf("the panic's error: %+v", e)
	}
	for _, id := range good {
		myWaitState(t, c, id, StateCompleted)
	}
	if s := c.Stats(); s.Panicked != 1 || s.Failed != 1 || s.Completed != 6 {
		t.Errorf("stats: %+v", s)
	}
}

// A job whose kind has no worker here fails its attempt with an error
// saying so, and is retried (by a process that may have the worker).
func TestMySQL_NoWorkerForKind(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error { return nil }))
	c := myClient(t, openMySQL(t, url), myConfig(ws, &logs))
	row, err := c.Enqueue(ctx, myOrphanArgs{}, &EnqueueOpts{MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	row = myWaitState(t, c, row.ID, StateDiscarded)
	if len(row.Errors) != 2 || row.LastError() != "no worker for job kind mysqltest.orphan" {
		t.Errorf("errors: %+v", row.Errors)
	}
}

// Stop and start again: the second run works jobs like the first, and a
// stop that runs out of time hands the running job back.
func TestMySQL_RestartAfterStop(t *testing.T) {
	url := mysqlURL(t)
	ctx := context.Background()
	var logs testenv.LogBuffer
	block := make(chan struct{})
	var blocking atomic.Bool
	blocking.Store(true)
	started := make(chan struct{}, 1)
	ws := NewWorkers()
	AddWorker(ws, WorkerFunc[myArgs](func(ctx context.Context, j *Job[myArgs]) error {
		if blocking.Load() {
			started <- struct{}{}
			select {
			case <-block:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}))
	c, err := New(openMySQL(t, url), myConfig(ws, &logs))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		if err := c.Start(ctx); err != nil {
			t.Fatalf("start %d: %v", round, err)
		}
		row, err := c.Enqueue(ctx, myArgs{N: round}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			<-started
			sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			err := c.Stop(sctx)
			cancel()
			if err != nil {
				t.Fatalf("hard stop: %v", err)
			}
			if row, _ = c.Get(ctx, row.ID); row.State != StateRetryable || len(row.Errors) != 1 {
				t.Fatalf("after a hard stop: %s errors %+v", row.State, row.Errors)
			}
			blocking.Store(false)
			continue
		}
		myWaitState(t, c, row.ID, StateCompleted)
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.Counts(ctx); err != nil || n[StateCompleted] != 3 {
		t.Errorf("counts: %v %v", n, err)
	}
}
