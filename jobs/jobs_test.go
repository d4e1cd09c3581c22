package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// TestMain fails the run if a test leaves goroutines behind (a client
// not stopped, a pool not closed). It covers the package's internal tests
// (mysql_test.go) too: both compile into one test binary.
func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// The suite below runs on every engine: River on SQLite and PostgreSQL,
// the jobs package's own queue on MariaDB.
var forEachEngine = dbtest.ForEachEngine

func openDB(tb testing.TB, d sqldb.Dialect) *sqldb.DB { return dbtest.Open(tb, d) }

func testLogger(tb testing.TB) *slog.Logger { return dbtest.Logger(tb, slog.LevelError) }

// echoArgs is the test job: N identifies it.
type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "test.echo" }

// fastConfig is a Config that polls and retries quickly, without the
// prune job (whose runs would count in Stats).
func fastConfig(tb testing.TB, ws *jobs.Workers) jobs.Config {
	return jobs.Config{
		Workers:       ws,
		PruneInterval: -1,
		PollInterval:  50 * time.Millisecond,
		Backoff:       func(int) time.Duration { return 10 * time.Millisecond },
		Logger:        testLogger(tb),
	}
}

// newClient makes a client and stops it when the test ends; with workers
// it is started.
func newClient(tb testing.TB, db *sqldb.DB, cfg jobs.Config) *jobs.Client {
	tb.Helper()
	c, err := jobs.New(db, cfg)
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	if cfg.Workers != nil {
		if err := c.Start(context.Background()); err != nil {
			tb.Fatalf("start: %v", err)
		}
		tb.Cleanup(func() { stopNow(tb, c) })
	}
	return c
}

// stopNow stops c, giving its running jobs 10 seconds. Stopping a client
// that is stopped does nothing.
func stopNow(tb testing.TB, c *jobs.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		tb.Errorf("stop: %v", err)
	}
}

// waitState waits until the job is in state, and returns its row.
func waitState(tb testing.TB, c *jobs.Client, id int64, want jobs.State) *jobs.Row {
	tb.Helper()
	var row *jobs.Row
	var err error
	testenv.Wait(tb, 0, fmt.Sprintf("job %d to be %s", id, want), func() bool {
		row, err = c.Get(context.Background(), id)
		return err != nil || row.State == want
	})
	if err != nil {
		tb.Fatalf("get job %d: %v", id, err)
	}
	return row
}

// markerArgs is a job that does nothing: its run tells a test that the
// workers have taken every job due before it.
type markerArgs struct{}

func (markerArgs) Kind() string { return "test.marker" }

// addMarker registers the marker job's worker.
func addMarker(ws *jobs.Workers) {
	jobs.AddWorker(ws, jobs.WorkerFunc[markerArgs](func(context.Context, *jobs.Job[markerArgs]) error { return nil }))
}

// waitPast enqueues a marker job due later than any retry fastConfig's
// backoff can have scheduled by now, and waits until it has completed.
// Jobs are taken in the order of their time (River's scheduler makes due
// scheduled and retryable jobs available in one pass; the MySQL queue
// fetches in that order), so by then any such retry has begun: a test
// sees a job that should stay as it is has not moved, without sleeping.
func waitPast(tb testing.TB, c *jobs.Client) {
	tb.Helper()
	row, err := c.Enqueue(context.Background(), markerArgs{}, &jobs.EnqueueOpts{ScheduledAt: time.Now().Add(100 * time.Millisecond)})
	if err != nil {
		tb.Fatalf("enqueue the marker: %v", err)
	}
	waitState(tb, c, row.ID, jobs.StateCompleted)
}

func TestClient_EnqueueAndWork(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		seen := map[int]int{}
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if j.Kind != "test.echo" || j.Attempt != 1 || j.ID == 0 {
				t.Errorf("job row: kind %q attempt %d id %d", j.Kind, j.Attempt, j.ID)
			}
			mu.Lock()
			seen[j.Args.N]++
			mu.Unlock()
			return nil
		}))
		c := newClient(t, db, fastConfig(t, ws))
		const n = 30
		ids := make([]int64, n)
		for i := range n {
			row, err := c.Enqueue(ctx, echoArgs{N: i}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if row.ID == 0 || row.Kind != "test.echo" || row.MaxAttempts != jobs.DefaultMaxAttempts {
				t.Fatalf("enqueued row: %+v", row)
			}
			ids[i] = row.ID
		}
		for _, id := range ids {
			row := waitState(t, c, id, jobs.StateCompleted)
			if row.Attempt != 1 || row.FinalizedAt == nil || len(row.Errors) != 0 {
				t.Errorf("completed job: attempt %d finalized %v errors %v", row.Attempt, row.FinalizedAt, row.Errors)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range n {
			if seen[i] != 1 {
				t.Errorf("job %d ran %d times, want 1", i, seen[i])
			}
		}
		if s := c.Stats(); s.Completed != n || s.Failed != 0 {
			t.Errorf("stats: %+v", s)
		}
	})
}

func TestClient_EnqueueTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ran := make(chan int, 10)
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			ran <- j.Args.N
			return nil
		}))
		c := newClient(t, db, fastConfig(t, ws))

		// Rolled back: the job never existed.
		errRollback := errors.New("rollback")
		var rolledBack int64
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			row, err := c.EnqueueTx(ctx, tx, echoArgs{N: 1}, nil)
			if err != nil {
				return err
			}
			rolledBack = row.ID
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx: %v", err)
		}
		if _, err := c.Get(ctx, rolledBack); kura.ErrorCode(err) != kura.ENOTFOUND {
			t.Fatalf("job of a rolled back transaction: %v, want ENOTFOUND", err)
		}

		// Committed: it runs.
		var committed int64
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			row, err := c.EnqueueTx(ctx, tx, echoArgs{N: 2}, nil)
			if err == nil {
				committed = row.ID
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, committed, jobs.StateCompleted)
		select {
		case n := <-ran:
			if n != 2 {
				t.Fatalf("ran job %d, want 2", n)
			}
		default:
			t.Fatal("the committed job did not run")
		}
		// The rolled back job does not exist, so nothing else can run;
		// once stopped, the client has run one job.
		stopNow(t, c)
		select {
		case n := <-ran:
			t.Fatalf("job %d also ran", n)
		default:
		}
		if s := c.Stats(); s.Completed != 1 {
			t.Errorf("stats: %+v, want one completed job", s)
		}
	})
}

func TestClient_RetryWithBackoff(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		var attempts atomic.Int32
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			attempts.Add(1)
			if j.Attempt < 3 {
				return fmt.Errorf("transient failure %d", j.Attempt)
			}
			return nil
		}))
		cfg := fastConfig(t, ws)
		var mu sync.Mutex
		var backoffs []int
		cfg.Backoff = func(attempt int) time.Duration {
			mu.Lock()
			backoffs = append(backoffs, attempt)
			mu.Unlock()
			return 100 * time.Millisecond
		}
		c := newClient(t, db, cfg)
		start := time.Now()
		row, err := c.Enqueue(context.Background(), echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		row = waitState(t, c, row.ID, jobs.StateCompleted)
		if row.Attempt != 3 || len(row.Errors) != 2 {
			t.Fatalf("attempt %d, errors %v; want 3 attempts and 2 errors", row.Attempt, row.Errors)
		}
		if row.Errors[0].Error != "transient failure 1" || row.Errors[1].Attempt != 2 {
			t.Errorf("errors: %+v", row.Errors)
		}
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("3 attempts with 100ms backoff took %s", took)
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(backoffs) != "[1 2]" {
			t.Errorf("backoff asked for attempts %v, want [1 2]", backoffs)
		}
		if s := c.Stats(); s.Failed != 2 || s.Completed != 1 {
			t.Errorf("stats: %+v", s)
		}
	})
}

func TestClient_DiscardedKeepsErrors(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			return fmt.Errorf("permanent failure on attempt %d", j.Attempt)
		}))
		addMarker(ws)
		c := newClient(t, db, fastConfig(t, ws))
		row, err := c.Enqueue(context.Background(), echoArgs{}, &jobs.EnqueueOpts{MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		row = waitState(t, c, row.ID, jobs.StateDiscarded)
		if row.Attempt != 3 || len(row.Errors) != 3 || row.FinalizedAt == nil {
			t.Fatalf("discarded: attempt %d errors %v finalized %v", row.Attempt, row.Errors, row.FinalizedAt)
		}
		if got := row.LastError(); got != "permanent failure on attempt 3" {
			t.Errorf("last error %q", got)
		}
		// It stays dead: no fourth attempt, even after the workers have
		// taken every job due after a retry would have been.
		waitPast(t, c)
		if row, _ = c.Get(context.Background(), row.ID); row.State != jobs.StateDiscarded || row.Attempt != 3 {
			t.Errorf("after a while: %s, attempt %d", row.State, row.Attempt)
		}
		if s := c.Stats(); s.Discarded != 1 || s.Failed != 3 {
			t.Errorf("stats: %+v", s)
		}
	})
}

func TestClient_PanicIsRetried(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if j.Args.N == 0 && j.Attempt == 1 {
				panic("boom")
			}
			return nil
		}))
		c := newClient(t, db, fastConfig(t, ws))
		bad, err := c.Enqueue(ctx, echoArgs{N: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		row := waitState(t, c, bad.ID, jobs.StateCompleted)
		if row.Attempt != 2 || len(row.Errors) != 1 || !strings.Contains(row.Errors[0].Error, "panic: boom") {
			t.Fatalf("after a panic: attempt %d errors %+v", row.Attempt, row.Errors)
		}
		// The worker goes on working other jobs.
		for i := 1; i <= 5; i++ {
			r, err := c.Enqueue(ctx, echoArgs{N: i}, nil)
			if err != nil {
				t.Fatal(err)
			}
			waitState(t, c, r.ID, jobs.StateCompleted)
		}
		if s := c.Stats(); s.Panicked != 1 || s.Completed != 6 {
			t.Errorf("stats: %+v", s)
		}
	})
}

func TestClient_Scheduled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ranAt := make(chan time.Time, 1)
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			ranAt <- time.Now()
			return nil
		}))
		c := newClient(t, db, fastConfig(t, ws))
		at := time.Now().Add(time.Second)
		row, err := c.Enqueue(context.Background(), echoArgs{}, &jobs.EnqueueOpts{ScheduledAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if row.State != jobs.StateScheduled || row.ScheduledAt.Sub(at).Abs() > time.Millisecond {
			t.Fatalf("enqueued: state %s scheduled %v, want scheduled at %v", row.State, row.ScheduledAt, at)
		}
		waitState(t, c, row.ID, jobs.StateCompleted)
		if got := <-ranAt; got.Before(at) {
			t.Errorf("ran at %v, before its time %v", got, at)
		}
	})
}

// tickArgs is the periodic test job.
type tickArgs struct{}

func (tickArgs) Kind() string { return "test.tick" }

func TestClient_Periodic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		var ticks atomic.Int32
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[tickArgs](func(ctx context.Context, j *jobs.Job[tickArgs]) error {
			ticks.Add(1)
			return nil
		}))
		cfg := fastConfig(t, ws)
		cfg.Periodic = []jobs.PeriodicJob{{Every: 500 * time.Millisecond, Args: func() jobs.Args { return tickArgs{} }, RunOnStart: true}}
		newClient(t, db, cfg)
		testenv.Wait(t, 0, "3 runs of the periodic job", func() bool { return ticks.Load() >= 3 })
	})
}

func TestClient_JobTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			<-ctx.Done()
			return ctx.Err()
		}))
		cfg := fastConfig(t, ws)
		cfg.JobTimeout = 200 * time.Millisecond
		c := newClient(t, db, cfg)
		row, err := c.Enqueue(context.Background(), echoArgs{}, &jobs.EnqueueOpts{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		row = waitState(t, c, row.ID, jobs.StateDiscarded)
		if !strings.Contains(row.LastError(), "deadline exceeded") {
			t.Errorf("error of a timed-out attempt: %q", row.LastError())
		}
	})
}

// slowArgs is a kind with a deadline of its own, shorter than the
// client's.
type slowArgs struct{}

func (slowArgs) Kind() string              { return "test.slow" }
func (slowArgs) JobTimeout() time.Duration { return 200 * time.Millisecond }

func TestClient_KindTimeout(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[slowArgs](func(ctx context.Context, j *jobs.Job[slowArgs]) error {
			<-ctx.Done()
			return ctx.Err()
		}))
		cfg := fastConfig(t, ws)
		cfg.JobTimeout = time.Hour // the kind's 200ms applies, not this
		cfg.RescueAfter = 2 * time.Hour
		c := newClient(t, db, cfg)
		row, err := c.Enqueue(context.Background(), slowArgs{}, &jobs.EnqueueOpts{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		row = waitState(t, c, row.ID, jobs.StateDiscarded)
		if !strings.Contains(row.LastError(), "deadline exceeded") {
			t.Errorf("error of a timed-out attempt: %q", row.LastError())
		}
		cfg.RescueAfter = 100 * time.Millisecond
		cfg.JobTimeout = 50 * time.Millisecond
		if _, err := jobs.New(db, cfg); err == nil || !strings.Contains(err.Error(), "test.slow") {
			t.Errorf("a kind's deadline beyond RescueAfter: %v; want an error naming the kind", err)
		}
	})
}

func TestClient_StopWaitsForRunningJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			close(started)
			<-release // a job still running when Stop is called
			return nil
		}))
		c, err := jobs.New(db, fastConfig(t, ws))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		row, err := c.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		stopped := make(chan error, 1)
		go func() { stopped <- c.Stop(sctx) }()
		select {
		case err := <-stopped:
			t.Fatalf("stop returned (%v) while a job ran", err)
		default:
		}
		close(release)
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		if row, _ = c.Get(ctx, row.ID); row.State != jobs.StateCompleted {
			t.Fatalf("after a graceful stop the running job is %s, want completed", row.State)
		}
	})
}

func TestClient_StopHandsBackJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		started := make(chan struct{}, 1)
		var second atomic.Bool
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if second.Load() {
				return nil
			}
			started <- struct{}{}
			<-ctx.Done() // a job that takes longer than the shutdown deadline
			return ctx.Err()
		}))
		cfg := fastConfig(t, ws)
		c, err := jobs.New(db, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		row, err := c.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		begin := time.Now()
		c.Stop(sctx)
		if took := time.Since(begin); took > 6*time.Second {
			t.Errorf("stop took %s", took)
		}
		row, err = c.Get(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.State != jobs.StateRetryable && row.State != jobs.StateAvailable {
			t.Fatalf("a job interrupted by stop is %s, want handed back (retryable or available)", row.State)
		}

		// Another worker takes it and finishes it.
		second.Store(true)
		c2 := newClient(t, db, cfg)
		waitState(t, c2, row.ID, jobs.StateCompleted)
	})
}

func TestClient_Manage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var fail atomic.Bool
		fail.Store(true)
		ran := make(chan int, 10)
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if fail.Load() {
				return errors.New("down")
			}
			ran <- j.Args.N
			return nil
		}))
		c := newClient(t, db, fastConfig(t, ws))

		dead, err := c.Enqueue(ctx, echoArgs{N: 1}, &jobs.EnqueueOpts{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, dead.ID, jobs.StateDiscarded)
		later, err := c.Enqueue(ctx, echoArgs{N: 2}, &jobs.EnqueueOpts{ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}

		// List: newest first, filtered by state.
		all, err := c.List(ctx, jobs.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].ID != later.ID || all[1].ID != dead.ID {
			t.Fatalf("list: %v", ids(all))
		}
		failed, _ := jobs.ParseStates("failed")
		got, err := c.List(ctx, jobs.ListOptions{States: failed})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != dead.ID {
			t.Fatalf("list failed: %v", ids(got))
		}
		if got, _ := c.List(ctx, jobs.ListOptions{Kinds: []string{"other"}}); len(got) != 0 {
			t.Fatalf("list of another kind: %v", ids(got))
		}

		// Cancel the scheduled job: it never runs.
		row, err := c.Cancel(ctx, later.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.State != jobs.StateCancelled || row.FinalizedAt == nil {
			t.Fatalf("cancelled: %s finalized %v", row.State, row.FinalizedAt)
		}

		// Retry the dead job once its cause is fixed: it runs.
		fail.Store(false)
		row, err = c.Retry(ctx, dead.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.State != jobs.StateAvailable || row.MaxAttempts < 2 {
			t.Fatalf("retried: %s with max attempts %d", row.State, row.MaxAttempts)
		}
		waitState(t, c, dead.ID, jobs.StateCompleted)
		if n := <-ran; n != 1 {
			t.Fatalf("ran job %d", n)
		}

		for name, f := range map[string]func(context.Context, int64) (*jobs.Row, error){"get": c.Get, "retry": c.Retry, "cancel": c.Cancel} {
			if _, err := f(ctx, 999999); kura.ErrorCode(err) != kura.ENOTFOUND {
				t.Errorf("%s of a missing job: %v, want ENOTFOUND", name, err)
			}
		}
	})
}

func ids(rows []*jobs.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

func TestClient_CountsAndPrune(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if j.Args.N < 0 {
				return errors.New("negative")
			}
			return nil
		}))
		cfg := fastConfig(t, ws)
		cfg.Retention = time.Minute
		cfg.DiscardedRetention = time.Hour
		var clock jobs.FakeClock
		cfg.Now = clock.Now
		c := newClient(t, db, cfg)
		var done []int64
		for i := range 3 {
			r, err := c.Enqueue(ctx, echoArgs{N: i}, nil)
			if err != nil {
				t.Fatal(err)
			}
			done = append(done, r.ID)
		}
		dead, err := c.Enqueue(ctx, echoArgs{N: -1}, &jobs.EnqueueOpts{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enqueue(ctx, echoArgs{N: 9}, &jobs.EnqueueOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for _, id := range done {
			waitState(t, c, id, jobs.StateCompleted)
		}
		waitState(t, c, dead.ID, jobs.StateDiscarded)

		counts, err := c.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[jobs.StateCompleted] != 3 || counts[jobs.StateDiscarded] != 1 || counts[jobs.StateScheduled] != 1 || counts.Depth() != 1 {
			t.Fatalf("counts: %v (depth %d)", counts, counts.Depth())
		}

		if n, err := c.Prune(ctx); err != nil || n != 0 {
			t.Fatalf("pruned %d jobs (%v) within their retention", n, err)
		}
		clock.Advance(2 * time.Minute) // past Retention, within DiscardedRetention
		n, err := c.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("pruned %d jobs, want the 3 completed", n)
		}
		for _, id := range done {
			if _, err := c.Get(ctx, id); kura.ErrorCode(err) != kura.ENOTFOUND {
				t.Errorf("pruned job %d: %v", id, err)
			}
		}
		counts, _ = c.Counts(ctx)
		if counts[jobs.StateDiscarded] != 1 || counts[jobs.StateScheduled] != 1 || counts[jobs.StateCompleted] != 0 {
			t.Fatalf("after prune: %v", counts)
		}
	})
}

func TestClient_PruneJobRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error { return nil }))
		cfg := fastConfig(t, ws)
		cfg.Retention = 10 * time.Millisecond
		cfg.PruneInterval = 300 * time.Millisecond
		c := newClient(t, db, cfg)
		r, err := c.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Wait(t, 0, "the periodic prune job to delete a completed job", func() bool {
			_, err := c.Get(ctx, r.ID)
			return kura.ErrorCode(err) == kura.ENOTFOUND
		})
	})
}

func TestClient_InvalidInput(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	c, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, tc := range map[string]struct {
		args jobs.Args
		opts *jobs.EnqueueOpts
	}{
		"nil args":          {nil, nil},
		"priority 5":        {echoArgs{}, &jobs.EnqueueOpts{Priority: 5}},
		"negative attempts": {echoArgs{}, &jobs.EnqueueOpts{MaxAttempts: -1}},
	} {
		if _, err := c.Enqueue(ctx, tc.args, tc.opts); kura.ErrorCode(err) != kura.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if _, err := c.List(ctx, jobs.ListOptions{Limit: -1}); kura.ErrorCode(err) != kura.EINVALID {
		t.Errorf("list limit -1: %v", err)
	}
	if err := c.Start(ctx); err == nil {
		t.Error("a client without workers started")
	}
	if _, err := jobs.ParseStates("dead"); kura.ErrorCode(err) != kura.EINVALID {
		t.Errorf("ParseStates(dead): %v", err)
	}
	if s, err := jobs.ParseStates(" Failed "); err != nil || len(s) != 2 {
		t.Errorf("ParseStates(failed): %v %v", s, err)
	}
	if _, err := jobs.New(db, jobs.Config{JobTimeout: time.Hour, RescueAfter: time.Minute}); err == nil {
		t.Error("RescueAfter below JobTimeout was accepted")
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 16 * time.Second, 3: 81 * time.Second, 10: 10000 * time.Second} {
		for range 20 {
			got := jobs.DefaultBackoff(attempt)
			if got < want*9/10 || got > want*11/10 {
				t.Fatalf("DefaultBackoff(%d) = %s, want %s ±10%%", attempt, got, want)
			}
		}
	}
}

func TestClient_CancelRunning(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		started := make(chan struct{}, 1)
		stopped := make(chan error, 1)
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			started <- struct{}{}
			select {
			case <-ctx.Done():
				stopped <- ctx.Err()
				return ctx.Err()
			case <-time.After(30 * time.Second):
				stopped <- nil
				return nil
			}
		}))
		c := newClient(t, db, fastConfig(t, ws))
		row, err := c.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-started
		if _, err := c.Cancel(ctx, row.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-stopped:
			if err == nil {
				t.Fatal("the cancelled job ran to its end")
			}
		case <-time.After(testenv.WaitTimeout):
			t.Fatal("the running job's context was not cancelled")
		}
		waitState(t, c, row.ID, jobs.StateCancelled)
		// Once stopped, every attempt's end is recorded: the cancelled
		// one's did not overwrite the cancellation.
		stopNow(t, c)
		if row, _ = c.Get(ctx, row.ID); row.State != jobs.StateCancelled || row.Attempt != 1 {
			t.Fatalf("a cancelled job is %s after attempt %d; want it to stay cancelled", row.State, row.Attempt)
		}
		if s := c.Stats(); s.Failed != 0 {
			t.Errorf("a cancelled attempt counted as a failure: %+v", s)
		}
	})
}

func TestClient_RestartAfterStop(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(context.Context, *jobs.Job[echoArgs]) error { return nil }))
		c := newClient(t, db, fastConfig(t, ws))
		for round := range 3 {
			if round > 0 {
				if err := c.Start(ctx); err != nil {
					t.Fatalf("start again (round %d): %v", round, err)
				}
			}
			row, err := c.Enqueue(ctx, echoArgs{N: round}, nil)
			if err != nil {
				t.Fatal(err)
			}
			waitState(t, c, row.ID, jobs.StateCompleted)
			stopNow(t, c)
		}
		if s := c.Stats(); s.Completed != 3 {
			t.Errorf("stats: %+v", s)
		}
	})
}

// longArgs is a kind whose attempts may run for half an hour, as a
// backup's: far longer than any test waits, so only the heartbeat of its
// process can release it early.
type longArgs struct {
	N int `json:"n"`
}

func (longArgs) Kind() string              { return "test.long" }
func (longArgs) JobTimeout() time.Duration { return 30 * time.Minute }

// beatConfig is fastConfig with a heartbeat of every: a client that stops
// beating is dead 3 beats later. A test that needs a client alive gives
// it a beat that a busy machine's stalls cannot outlast.
func beatConfig(tb testing.TB, ws *jobs.Workers, every time.Duration) jobs.Config {
	cfg := fastConfig(tb, ws)
	cfg.Heartbeat = every
	return cfg
}

// blocking returns a worker of longArgs that runs until end is closed,
// except for the jobs quick says are quick. Close end as the test ends,
// before its clients stop (a Cleanup registered after making them).
func blocking(end <-chan struct{}, quick func(n int) bool) jobs.Worker[longArgs] {
	return jobs.WorkerFunc[longArgs](func(ctx context.Context, j *jobs.Job[longArgs]) error {
		if quick != nil && quick(j.Args.N) {
			return nil
		}
		select {
		case <-end:
		case <-ctx.Done():
		}
		return errors.New("ended with the test")
	})
}

// waitRunning waits until the job is running, taken by the client by.
func waitRunning(tb testing.TB, c *jobs.Client, id int64, by *jobs.Client) *jobs.Row {
	tb.Helper()
	var row *jobs.Row
	testenv.Wait(tb, 0, fmt.Sprintf("job %d to be running on %s", id, by.ID()), func() bool {
		row, _ = c.Get(context.Background(), id)
		return row != nil && row.State == jobs.StateRunning && row.AttemptedBy == by.ID()
	})
	return row
}

// A process that stops beating (killed, as far as the database can tell)
// has its running jobs released by a live one within a few heartbeats,
// though their kind may run for half an hour and RescueAfter is an hour;
// the live process's own long job is left alone. Who is dead is decided
// by the database's clock: the dying process's runs an hour ahead and the
// live one's two seconds behind, and neither changes the outcome.
func TestClient_ReleasesJobsOfDeadProcess(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mgr := newClient(t, db, jobs.Config{Logger: testLogger(t)})

		end := make(chan struct{})
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, blocking(end, nil))
		dcfg := beatConfig(t, ws, 100*time.Millisecond)
		dcfg.Concurrency = 1
		var ahead jobs.FakeClock
		ahead.Advance(time.Hour)
		dcfg.Now = ahead.Now
		dying := newClient(t, db, dcfg)
		job, err := mgr.Enqueue(ctx, longArgs{N: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRunning(t, mgr, job.ID, dying)

		ws = jobs.NewWorkers()
		jobs.AddWorker(ws, blocking(end, func(n int) bool { return n != 1 }))
		lcfg := beatConfig(t, ws, 500*time.Millisecond)
		lcfg.Concurrency = 2
		lcfg.Now = func() time.Time { return time.Now().Add(-2 * time.Second) }
		live := newClient(t, db, lcfg)
		t.Cleanup(func() { close(end) })
		long, err := mgr.Enqueue(ctx, longArgs{N: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRunning(t, mgr, long.ID, live)

		jobs.StopBeating(dying)
		row := waitState(t, mgr, job.ID, jobs.StateCompleted)
		if row.Attempt != 2 || len(row.Errors) != 1 || row.Errors[0].Attempt != 1 ||
			!strings.Contains(row.LastError(), "interrupted") || row.AttemptedBy != live.ID() {
			t.Errorf("the dead process's job: attempt %d by %s, errors %+v; want attempt 2 by %s after an interrupted one",
				row.Attempt, row.AttemptedBy, row.Errors, live.ID())
		}
		// The pass that released it found the live process alive.
		if row, _ = mgr.Get(ctx, long.ID); row.State != jobs.StateRunning || row.Attempt != 1 || len(row.Errors) != 0 {
			t.Errorf("the live process's long job: %s, attempt %d, errors %+v; want left running", row.State, row.Attempt, row.Errors)
		}
		h, err := mgr.Holder(ctx, live.ID())
		if host, _ := os.Hostname(); err != nil || !h.Alive || h.PID != os.Getpid() || h.Hostname != host {
			t.Errorf("the live process's heartbeat: %+v, %v", h, err)
		}
		// The dead process's heartbeat goes once it holds nothing.
		testenv.Wait(t, 0, "the dead process's heartbeat to be deleted", func() bool {
			_, err := mgr.Holder(ctx, dying.ID())
			return kura.ErrorCode(err) == kura.ENOTFOUND
		})
	})
}

// Retry refuses a job running on a live process, and Retry and Cancel
// release one whose process stopped beating when no other process has
// yet; Cancel refuses a finished job; a job whose holder left no
// heartbeat is refused until RescueAfter.
func TestClient_RetryAndCancelRunning(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		mgr := newClient(t, db, jobs.Config{Logger: testLogger(t)})
		end := make(chan struct{})
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, blocking(end, nil))
		cfg := beatConfig(t, ws, 500*time.Millisecond)
		cfg.Concurrency = 3
		proc := newClient(t, db, cfg)
		t.Cleanup(func() { close(end) })
		var ids []int64
		for i := range 3 {
			row, err := mgr.Enqueue(ctx, longArgs{N: i}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, row.ID)
			waitRunning(t, mgr, row.ID, proc)
		}
		retried, cancelled, unknown := ids[0], ids[1], ids[2]
		host, _ := os.Hostname()

		_, err := mgr.Retry(ctx, retried)
		if kura.ErrorCode(err) != kura.ECONFLICT || !strings.Contains(kura.ErrorMessage(err), "is running on "+host) {
			t.Fatalf("retry of a job running on a live process: %v; want a conflict naming its host", err)
		}
		if row, _ := mgr.Get(ctx, retried); row.State != jobs.StateRunning || row.Attempt != 1 || len(row.Errors) != 0 {
			t.Fatalf("a refused retry changed the job: %s, attempt %d, errors %+v", row.State, row.Attempt, row.Errors)
		}

		// The process dies; no other one runs to release its jobs. Its
		// workers, all busy, take nothing more.
		jobs.StopBeating(proc)
		testenv.Wait(t, 0, "the process's heartbeat to expire", func() bool {
			h, err := mgr.Holder(ctx, proc.ID())
			return err == nil && !h.Alive
		})
		row, err := mgr.Retry(ctx, retried)
		if err != nil {
			t.Fatalf("retry of a dead process's job: %v", err)
		}
		if row.State != jobs.StateAvailable || len(row.Errors) != 1 || !strings.Contains(row.LastError(), "interrupted") {
			t.Errorf("retried: %s, errors %+v; want available after an interrupted attempt", row.State, row.Errors)
		}
		row, err = mgr.Cancel(ctx, cancelled)
		if err != nil {
			t.Fatalf("cancel of a dead process's job: %v", err)
		}
		if row.State != jobs.StateCancelled || row.FinalizedAt == nil || len(row.Errors) != 1 {
			t.Errorf("cancelled: %s, finalized %v, errors %+v", row.State, row.FinalizedAt, row.Errors)
		}
		if _, err := mgr.Cancel(ctx, cancelled); kura.ErrorCode(err) != kura.ECONFLICT || !strings.Contains(kura.ErrorMessage(err), "cancelled") {
			t.Errorf("cancel of a cancelled job: %v; want a conflict saying it is cancelled", err)
		}
		if again, _ := mgr.Get(ctx, cancelled); !again.FinalizedAt.Equal(*row.FinalizedAt) {
			t.Errorf("a refused cancel changed the job: finalized %v, then %v", row.FinalizedAt, again.FinalizedAt)
		}

		// A holder without a heartbeat (a version before heartbeats) may
		// be alive: its job waits for RescueAfter.
		if _, err := db.Writer().ExecContext(ctx, db.Rebind("DELETE FROM kura_job_clients WHERE id = ?"), proc.ID()); err != nil {
			t.Fatal(err)
		}
		_, err = mgr.Retry(ctx, unknown)
		if kura.ErrorCode(err) != kura.ECONFLICT || !strings.Contains(kura.ErrorMessage(err), "no heartbeat") {
			t.Errorf("retry of a job whose holder left no heartbeat: %v; want a conflict saying so", err)
		}
		if row, _ := mgr.Get(ctx, unknown); row.State != jobs.StateRunning {
			t.Errorf("a refused retry changed the job: %s", row.State)
		}
		if _, err := mgr.Holder(ctx, proc.ID()); kura.ErrorCode(err) != kura.ENOTFOUND {
			t.Errorf("holder without a heartbeat: %v, want ENOTFOUND", err)
		}
	})
}

// A started client beats under its id until it stops.
func TestClient_HeartbeatUntilStop(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		ws := jobs.NewWorkers()
		addMarker(ws)
		c := newClient(t, db, beatConfig(t, ws, time.Second))
		h, err := c.Holder(ctx, c.ID())
		if err != nil || !h.Alive || h.ID != c.ID() || h.SeenAgo > time.Minute {
			t.Fatalf("heartbeat of a started client: %+v, %v", h, err)
		}
		waitPast(t, c)
		if h, err = c.Holder(ctx, c.ID()); err != nil || !h.Alive {
			t.Fatalf("heartbeat after a while: %+v, %v", h, err)
		}
		stopNow(t, c)
		if _, err := c.Holder(ctx, c.ID()); kura.ErrorCode(err) != kura.ENOTFOUND {
			t.Fatalf("heartbeat of a stopped client: %v, want none", err)
		}
	})
}

// A running job whose holder left no heartbeat (a version before
// heartbeats) and whose worker ignores its deadline is rescued after
// RescueAfter, as before heartbeats: by River's rescuer, which looks every
// 30 seconds, or the MySQL queue's.
func TestClient_RescueAfterWithoutHeartbeat(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		end := make(chan struct{})
		var first atomic.Bool
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			if first.CompareAndSwap(false, true) {
				<-end // deaf to its deadline
			}
			return nil
		}))
		cfg := beatConfig(t, ws, 100*time.Millisecond)
		cfg.Concurrency = 1
		cfg.JobTimeout = 500 * time.Millisecond
		cfg.RescueAfter = time.Second
		old := newClient(t, db, cfg)
		t.Cleanup(func() { close(end) })
		job, err := old.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitRunning(t, old, job.ID, old)
		jobs.StopBeating(old)
		if _, err := db.Writer().ExecContext(ctx, db.Rebind("DELETE FROM kura_job_clients WHERE id = ?"), old.ID()); err != nil {
			t.Fatal(err)
		}
		other := newClient(t, db, cfg)
		var row *jobs.Row
		testenv.Wait(t, time.Minute, "the job to be rescued and run again", func() bool {
			row, err = other.Get(ctx, job.ID)
			return err == nil && row.State == jobs.StateCompleted
		})
		if row.Attempt != 2 || len(row.Errors) != 1 || !strings.Contains(strings.ToLower(row.LastError()), "rescued") {
			t.Errorf("rescued job: attempt %d, errors %+v; want a second attempt after a rescue", row.Attempt, row.Errors)
		}
	})
}
