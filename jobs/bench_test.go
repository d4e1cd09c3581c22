package jobs_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// BenchmarkJobs measures jobs per second end to end: b.N jobs enqueued by
// 4 goroutines, each in a transaction of its own, worked by 10 workers,
// until the last is recorded completed. Its baseline, in the same run, is
// the guide's in-process queue (a channel and 10 worker goroutines), which
// is fast and loses every pending job when the process dies; the ratio is
// what durability costs.
//
//	go test -run '^$' -bench BenchmarkJobs -benchtime 3000x ./jobs/
func BenchmarkJobs(b *testing.B) {
	b.Run("in-process-channel", func(b *testing.B) {
		queue := make(chan echoArgs, 1024)
		var wg sync.WaitGroup
		var done atomic.Int64
		for range 10 {
			wg.Go(func() {
				for range queue {
					done.Add(1)
				}
			})
		}
		b.ResetTimer()
		enqueue(b.N, func(i int) error { queue <- echoArgs{N: i}; return nil })
		close(queue)
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
	for _, d := range dbtest.Engines {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := dbtest.Open(b, d)
			// The worker closes worked when it has run the last job; the
			// wait after it is for that job's completion to be recorded.
			var ran atomic.Int64
			worked := make(chan struct{})
			ws := jobs.NewWorkers()
			jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
				if ran.Add(1) == int64(b.N) {
					close(worked)
				}
				return nil
			}))
			c := newClient(b, db, jobs.Config{Workers: ws, Concurrency: 10, PruneInterval: -1, Logger: testLogger(b)})
			b.ResetTimer()
			if err := enqueue(b.N, func(i int) error { _, err := c.Enqueue(ctx, echoArgs{N: i}, nil); return err }); err != nil {
				b.Fatal(err)
			}
			<-worked
			testenv.Wait(b, 0, "every job recorded completed", func() bool {
				counts, err := c.Counts(ctx)
				return err == nil && counts[jobs.StateCompleted] == int64(b.N)
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		})
	}
}

// enqueue calls f for 0..n-1 from 4 goroutines.
func enqueue(n int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// BenchmarkEnqueueTx measures what enqueueing adds to a caller's
// transaction: a write transaction that enqueues one job, against the
// baseline of the same transaction doing one SELECT 1 instead, in the same
// run on each engine.
//
//	go test -run '^$' -bench BenchmarkEnqueueTx -benchtime 2000x ./jobs/
func BenchmarkEnqueueTx(b *testing.B) {
	for _, d := range dbtest.Engines {
		db := dbtest.Open(b, d)
		c, err := jobs.New(db, jobs.Config{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.Run(string(d)+"/baseline-tx", func(b *testing.B) {
			for range b.N {
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := tx.ExecContext(ctx, "SELECT 1")
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(d)+"/enqueue-tx", func(b *testing.B) {
			for i := range b.N {
				err := db.InTx(ctx, func(tx *sqldb.Tx) error {
					_, err := c.EnqueueTx(ctx, tx, echoArgs{N: i}, nil)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
