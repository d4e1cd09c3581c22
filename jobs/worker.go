package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Worker runs the jobs of one kind. Work returns nil when the job is done;
// an error (or a panic) fails the attempt, which is retried with backoff
// until MaxAttempts. ctx ends at the job's deadline (Config.JobTimeout) and
// when the client stops hard; Work returns promptly then, and the job is
// handed back to run again.
type Worker[A Args] interface {
	Work(ctx context.Context, job *Job[A]) error
}

// WorkerFunc makes a function a Worker.
type WorkerFunc[A Args] func(ctx context.Context, job *Job[A]) error

// Work calls f.
func (f WorkerFunc[A]) Work(ctx context.Context, job *Job[A]) error { return f(ctx, job) }

// Workers holds the worker of each kind. Make it with NewWorkers and
// AddWorker before New.
type Workers struct {
	units map[string]*unit
}

// NewWorkers returns an empty set of workers.
func NewWorkers() *Workers { return &Workers{units: map[string]*unit{}} }

// AddWorker registers w for the kind of A. It panics when the kind is
// empty or already has a worker: both are programming errors found at
// start-up.
func AddWorker[A Args](ws *Workers, w Worker[A]) {
	var zero A
	kind := zero.Kind()
	if kind == "" {
		panic("jobs: AddWorker: empty kind")
	}
	if _, dup := ws.units[kind]; dup {
		panic("jobs: AddWorker: kind " + kind + " already has a worker")
	}
	u := &unit{kind: kind}
	if t, ok := any(zero).(Timeouter); ok {
		u.timeout = t.JobTimeout()
	}
	u.work = func(ctx context.Context, row *Row) error {
		var a A
		if err := json.Unmarshal(row.Args, &a); err != nil {
			return fmt.Errorf("decode %s args: %w", kind, err)
		}
		return w.Work(ctx, &Job[A]{Row: row, Args: a})
	}
	u.addRiver = func(rw *river.Workers, run runFunc) {
		river.AddWorker[A](rw, &riverWorker[A]{run: run, unit: u})
	}
	ws.units[kind] = u
}

// unit is one registered kind: how to decode and run its jobs, and how to
// register it with River.
type unit struct {
	kind     string
	work     func(ctx context.Context, row *Row) error
	addRiver func(rw *river.Workers, run runFunc)
	timeout  time.Duration // the kind's own attempt deadline; 0: Config.JobTimeout
}

// runFunc runs one attempt of a job through the shared wrapper (run).
type runFunc func(ctx context.Context, u *unit, row *Row) error

// errJobCancelled is the cause of the context of an attempt whose job was
// cancelled (Client.Cancel) while it ran, on the MySQL queue; River has its
// own.
var errJobCancelled = errors.New("job cancelled")

// cancelled reports whether the attempt's context ended because its job
// was cancelled: such an attempt is not a failure.
func cancelled(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, errJobCancelled) || errors.Is(cause, rivertype.ErrJobCancelledRemotely)
}

// counters are the live Stats.
type counters struct {
	completed, failed, panicked, discarded atomic.Int64
}

func (c *counters) stats() Stats {
	return Stats{Completed: c.completed.Load(), Failed: c.failed.Load(), Panicked: c.panicked.Load(), Discarded: c.discarded.Load()}
}

// run is the one path every attempt takes on every engine: it turns a
// panic into a *PanicError, counts the outcome, hands it to onAttempt (if
// set) and logs failures. The engine records the returned error and
// schedules the retry.
func run(ctx context.Context, log *slog.Logger, c *counters, onAttempt func(Attempt), u *unit, row *Row) (err error) {
	start := time.Now()
	defer func() {
		a := Attempt{Kind: u.kind, Outcome: OutcomeCompleted}
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: string(debug.Stack())}
		}
		if onAttempt != nil {
			defer func() { a.Duration = time.Since(start); onAttempt(a) }()
		}
		if err == nil {
			c.completed.Add(1)
			return
		}
		if cancelled(ctx) {
			a.Outcome = OutcomeCancelled
			log.Info("running job cancelled", "job_id", row.ID, "kind", row.Kind, "attempt", row.Attempt)
			return
		}
		c.failed.Add(1)
		a.Outcome = OutcomeFailed
		attrs := []any{"job_id", row.ID, "kind", row.Kind, "attempt", row.Attempt, "max_attempts", row.MaxAttempts, "err", err.Error()}
		var pe *PanicError
		if errors.As(err, &pe) {
			c.panicked.Add(1)
			a.Panicked = true
			attrs = append(attrs, "stack", pe.Stack)
		}
		if row.Attempt >= row.MaxAttempts {
			c.discarded.Add(1)
			a.Outcome = OutcomeDiscarded
			log.Log(ctx, slog.LevelError, "job discarded after its last attempt", attrs...)
			return
		}
		log.Log(ctx, slog.LevelWarn, "job attempt failed; will retry", attrs...)
	}()
	return u.work(ctx, row)
}
