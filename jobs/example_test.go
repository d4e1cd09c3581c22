package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// GreetArgs is an example job: greet someone.
type GreetArgs struct {
	Name string `json:"name"`
}

// Kind names the job; it picks the worker and must stay the same across
// releases.
func (GreetArgs) Kind() string { return "example.greet" }

// openExampleDB opens a SQLite database in a temporary folder with kura's
// and the job queue's schema. remove deletes the folder.
func openExampleDB(ctx context.Context) (db *sqldb.DB, remove func(), err error) {
	dir, err := os.MkdirTemp("", "jobs-example")
	if err != nil {
		return nil, nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	quiet := slog.New(slog.DiscardHandler)
	db, err = sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: quiet})
	if err == nil {
		err = db.MigrateUp(ctx, store.Schema, jobs.Schema)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		remove()
		return nil, nil, err
	}
	return db, remove, nil
}

// Example defines a job and its worker, enqueues it in a transaction that
// commits and in one that rolls back, works it and stops.
func Example() {
	ctx := context.Background()
	db, remove, err := openExampleDB(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer remove()
	defer db.Close()

	// The worker of GreetArgs. It hands its greeting to the example; a
	// real worker would send an email or call an API, and return an
	// error to have the job retried.
	greetings := make(chan string, 1)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[GreetArgs](func(ctx context.Context, j *jobs.Job[GreetArgs]) error {
		greetings <- fmt.Sprintf("Hello, %s! (attempt %d)", j.Args.Name, j.Attempt)
		return nil
	}))
	c, err := jobs.New(db, jobs.Config{
		Workers:      ws,
		PollInterval: 50 * time.Millisecond, // look for jobs often: this is an example
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}

	// The job exists if and only if its transaction commits.
	errLater := errors.New("a later step failed")
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := c.EnqueueTx(ctx, tx, GreetArgs{Name: "Bob"}, nil); err != nil {
			return err
		}
		return errLater // rolls back: Bob's job never existed
	})
	fmt.Println("first transaction:", err)
	var id int64
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		row, err := c.EnqueueTx(ctx, tx, GreetArgs{Name: "Ada"}, nil)
		if err == nil {
			id = row.ID
		}
		return err
	})
	fmt.Println("second transaction:", err)

	fmt.Println(<-greetings)

	// Stop waits for running jobs (here, the end of Ada's is recorded).
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Stop(stopCtx); err != nil {
		fmt.Println(err)
		return
	}
	row, err := c.Get(ctx, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("job:", row.Kind, row.State, string(row.Args))
	counts, _ := c.Counts(ctx)
	fmt.Println("completed jobs:", counts[jobs.StateCompleted])
	// Output:
	// first transaction: a later step failed
	// second transaction: <nil>
	// Hello, Ada! (attempt 1)
	// job: example.greet completed {"name":"Ada"}
	// completed jobs: 1
}

// ExampleConfig_Validate checks a configuration before New, as a command
// line does with the values it read: every problem is named.
func ExampleConfig_Validate() {
	cfg := jobs.Config{Concurrency: -1, JobTimeout: 2 * time.Hour, RescueAfter: time.Hour}
	fmt.Println(cfg.Validate())
	fmt.Println(jobs.Config{}.Validate())
	// Output:
	// jobs: Config.Concurrency must be 0 (the default) or more, not -1
	// jobs: Config.RescueAfter must be longer than JobTimeout (2h0m0s), not 1h0m0s
	// <nil>
}

// ExampleConfig_WithDefaults shows what the zero fields of a Config
// become.
func ExampleConfig_WithDefaults() {
	cfg := jobs.Config{Concurrency: 4}.WithDefaults()
	fmt.Println(cfg.Concurrency, cfg.MaxAttempts, cfg.JobTimeout, cfg.RescueAfter, cfg.PollInterval)
	fmt.Println(cfg.Retention, cfg.DiscardedRetention, cfg.PruneInterval)
	// Output:
	// 4 25 1m0s 1h0m0s 1s
	// 24h0m0s 168h0m0s 1h0m0s
}

// TickArgs is an example periodic job.
type TickArgs struct{}

func (TickArgs) Kind() string { return "example.tick" }

// ExamplePeriodicJob enqueues a job every hour, and once when the workers
// start.
func ExamplePeriodicJob() {
	ctx := context.Background()
	db, remove, err := openExampleDB(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer remove()
	defer db.Close()

	ticked := make(chan struct{}, 1)
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[TickArgs](func(context.Context, *jobs.Job[TickArgs]) error {
		ticked <- struct{}{}
		return nil
	}))
	c, err := jobs.New(db, jobs.Config{
		Workers: ws,
		Periodic: []jobs.PeriodicJob{{
			Every:      time.Hour,
			Args:       func() jobs.Args { return TickArgs{} },
			RunOnStart: true,
		}},
		PruneInterval: -1, // no prune job in this example
		PollInterval:  50 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	<-ticked
	fmt.Println("ticked on start")
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	fmt.Println("stop:", c.Stop(stopCtx))
	// Output:
	// ticked on start
	// stop: <nil>
}
