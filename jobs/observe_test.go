package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// TestClient_OnAttempt checks that every attempt reaches Config.OnAttempt
// with its kind and outcome: a completion, a failure that is retried, and
// a panic on the last attempt, which is both panicked and discarded.
func TestClient_OnAttempt(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var seen []jobs.Attempt
		ws := jobs.NewWorkers()
		jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(ctx context.Context, j *jobs.Job[echoArgs]) error {
			switch {
			case j.Args.N == 1 && j.Attempt == 1:
				return errors.New("once")
			case j.Args.N == 2:
				panic("boom")
			}
			return nil
		}))
		cfg := fastConfig(t, ws)
		cfg.OnAttempt = func(a jobs.Attempt) {
			mu.Lock()
			seen = append(seen, a)
			mu.Unlock()
		}
		c := newClient(t, db, cfg)
		for n, opts := range []*jobs.EnqueueOpts{nil, nil, {MaxAttempts: 1}} {
			r, err := c.Enqueue(ctx, echoArgs{N: n}, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := jobs.StateCompleted
			if n == 2 {
				want = jobs.StateDiscarded
			}
			waitState(t, c, r.ID, want)
		}
		testenv.Wait(t, 0, "four attempts reported", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= 4
		})
		mu.Lock()
		defer mu.Unlock()
		got := map[jobs.Outcome]int{}
		panicked := 0
		for _, a := range seen {
			if a.Kind != "test.echo" || a.Duration <= 0 {
				t.Errorf("attempt %+v: want kind test.echo and a duration", a)
			}
			got[a.Outcome]++
			if a.Panicked {
				panicked++
				if a.Outcome != jobs.OutcomeDiscarded {
					t.Errorf("the panic on the last attempt is %s, want discarded", a.Outcome)
				}
			}
		}
		if len(seen) != 4 || got[jobs.OutcomeCompleted] != 2 || got[jobs.OutcomeFailed] != 1 ||
			got[jobs.OutcomeDiscarded] != 1 || panicked != 1 {
			t.Errorf("attempts %+v: want 2 completed, 1 failed, 1 discarded (panicked)", seen)
		}
	})
}

// TestClient_OldestAvailable checks the scheduled time of the oldest job
// waiting to run: none on an empty queue, the earliest of several
// priorities, and never a job scheduled for later.
func TestClient_OldestAvailable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		c := newClient(t, db, jobs.Config{Logger: testLogger(t)}) // no workers: jobs wait
		oldest := func() time.Time {
			t.Helper()
			o, err := c.OldestAvailable(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		if o := oldest(); !o.IsZero() {
			t.Fatalf("empty queue: oldest %s, want none", o)
		}
		if _, err := c.Enqueue(ctx, echoArgs{N: 1}, &jobs.EnqueueOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if o := oldest(); !o.IsZero() {
			t.Fatalf("only a job due in an hour: oldest %s, want none", o)
		}
		before := time.Now()
		first, err := c.Enqueue(ctx, echoArgs{N: 2}, &jobs.EnqueueOpts{Priority: 3})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enqueue(ctx, echoArgs{N: 3}, &jobs.EnqueueOpts{Priority: 1}); err != nil {
			t.Fatal(err)
		}
		o := oldest()
		if d := o.Sub(first.ScheduledAt); d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("oldest %s, want the first job's %s", o, first.ScheduledAt)
		}
		if age := time.Since(o); age < 0 || age > time.Since(before)+time.Second {
			t.Fatalf("oldest is %s old, want at most %s", age, time.Since(before))
		}
	})
}
