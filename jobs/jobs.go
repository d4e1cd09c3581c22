package jobs

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/kura-dev/kura"
)

// Args is the payload of a job. It is stored as JSON, so its exported
// fields need to survive encoding/json. Kind names the job and selects its
// worker; it must be stable across releases and is called on the zero
// value, so Args types are structs with value receivers.
type Args interface {
	Kind() string
}

// Timeouter is implemented by the Args of a kind whose attempts need a
// deadline other than Config.JobTimeout, such as a backup that may take
// many minutes. It is called on the zero value. Config.RescueAfter must
// exceed it, or New refuses the workers.
type Timeouter interface {
	JobTimeout() time.Duration
}

// State is where a job is in its life.
type State string

// The states of a job. A job is enqueued available (or scheduled, when it
// is to run later), becomes running when a worker takes it, and ends
// completed, cancelled or discarded; a failed attempt makes it retryable
// until its attempts run out.
const (
	StateAvailable State = "available"
	StateScheduled State = "scheduled"
	StateRunning   State = "running"
	StateRetryable State = "retryable"
	StateCompleted State = "completed"
	StateCancelled State = "cancelled"
	StateDiscarded State = "discarded" // out of attempts: dead, errors kept
	StatePending   State = "pending"   // River only: held until made available
)

// States are all the states, in the order of a job's life.
var States = []State{StatePending, StateScheduled, StateAvailable, StateRunning, StateRetryable, StateCompleted, StateCancelled, StateDiscarded}

// ParseStates parses a state filter: one state name, or "failed", which
// means retryable and discarded (jobs whose last attempt failed). It
// returns an EINVALID *kura.Error for anything else.
func ParseStates(s string) ([]State, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "failed" {
		return []State{StateRetryable, StateDiscarded}, nil
	}
	for _, st := range States {
		if string(st) == s {
			return []State{st}, nil
		}
	}
	names := make([]string, 0, len(States)+1)
	for _, st := range States {
		names = append(names, string(st))
	}
	return nil, kura.FieldError(kura.EINVALID, "state", "must be one of failed, "+strings.Join(names, ", "))
}

// Row is a job as stored.
type Row struct {
	ID          int64
	Kind        string
	Args        json.RawMessage // the encoded Args
	State       State
	Attempt     int // attempts made, the running one included
	MaxAttempts int
	Priority    int
	Queue       string
	CreatedAt   time.Time
	ScheduledAt time.Time  // when it may run (next)
	AttemptedAt *time.Time // when the last attempt began
	AttemptedBy string     // the id of the client that took it (Client.ID, Holder), "" before
	FinalizedAt *time.Time // when it completed, was cancelled or discarded
	Errors      []AttemptError
}

// finished reports whether the job has ended: completed, cancelled or
// discarded.
func (r *Row) finished() bool {
	return r.State == StateCompleted || r.State == StateCancelled || r.State == StateDiscarded
}

// LastError returns the error of the last failed attempt, or "".
func (r *Row) LastError() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[len(r.Errors)-1].Error
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
	Trace   string    `json:"trace,omitempty"`
}

// Job is a job being worked: its row and its decoded Args.
type Job[A Args] struct {
	*Row
	Args A
}

// EnqueueOpts are the options of one job. The zero value runs it now with
// the client's MaxAttempts.
type EnqueueOpts struct {
	// ScheduledAt, if in the future, is the earliest time the job runs.
	ScheduledAt time.Time
	// MaxAttempts overrides Config.MaxAttempts for this job.
	MaxAttempts int
	// Priority from 1 (first) to 4 (last); 0 means 1.
	Priority int
}

// ListOptions select jobs for List: newest first.
type ListOptions struct {
	States []State // nil means all
	Kinds  []string
	Limit  int // 0 means 100; at most 10000
}

// Counts are the number of jobs in each state, for queue depth and
// failures on a dashboard or a metrics endpoint.
type Counts map[State]int64

// Depth returns the jobs waiting to run: available, scheduled and
// retryable.
func (c Counts) Depth() int64 {
	return c[StateAvailable] + c[StateScheduled] + c[StateRetryable]
}

// Stats counts what this process's workers did since the client was made.
type Stats struct {
	Completed int64 // attempts that succeeded
	Failed    int64 // attempts that returned an error, timed out or panicked
	Panicked  int64 // of those, attempts that panicked
	Discarded int64 // jobs that failed their last attempt
}

// DefaultBackoff is the wait before attempt+1 after a failed attempt:
// attempt⁴ seconds with ±10% jitter (1 s, 16 s, 81 s, 4 min, ... 4.5 days
// after attempt 24), River's schedule, used on every engine.
func DefaultBackoff(attempt int) time.Duration {
	s := math.Pow(float64(max(attempt, 1)), 4)
	s += s * (rand.Float64()*0.2 - 0.1)
	return time.Duration(s * float64(time.Second))
}

// PanicError is the error of an attempt that panicked.
type PanicError struct {
	Value any
	Stack string
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }
