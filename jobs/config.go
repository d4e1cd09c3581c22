package jobs

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults that WithDefaults fills in for zero fields of a Config.
const (
	DefaultConcurrency        = 10
	DefaultMaxAttempts        = 25
	DefaultJobTimeout         = time.Minute
	DefaultRescueAfter        = time.Hour
	DefaultHeartbeat          = 5 * time.Second
	DefaultPollInterval       = time.Second
	DefaultRetention          = 24 * time.Hour
	DefaultDiscardedRetention = 7 * 24 * time.Hour
	DefaultPruneInterval      = time.Hour
	DefaultListLimit          = 100
	MaxListLimit              = 10000
)

// Config configures a Client. The zero Config makes a client that enqueues
// and manages jobs but works none. A zero field takes its default (see
// WithDefaults); a negative one is an error (see Validate), except
// PruneInterval, where it turns pruning off.
type Config struct {
	// Workers, if set, are the kinds this client works once started. Nil
	// makes a client that only enqueues and manages jobs (a web process
	// whose jobs run in a separate worker process, or an operator's CLI).
	Workers *Workers

	// Concurrency is how many jobs are worked at once. Zero means
	// DefaultConcurrency (10).
	Concurrency int

	// Periodic jobs are enqueued on a fixed interval while a client with
	// workers runs; across several processes each period's job is enqueued
	// once. Nil means none (besides the prune job).
	Periodic []PeriodicJob

	// MaxAttempts is a job's number of attempts, the first included,
	// unless its EnqueueOpts say otherwise. Zero means DefaultMaxAttempts
	// (25).
	MaxAttempts int

	// JobTimeout bounds one attempt: its ctx ends then. Zero means
	// DefaultJobTimeout (1 minute).
	JobTimeout time.Duration

	// RescueAfter is how long a job may stay running before it is retried
	// (or discarded when out of attempts) though no heartbeat says that
	// its process died: its worker ignores its deadline, or its holder is
	// unknown (a job taken before heartbeats existed). The jobs of a
	// process whose heartbeat stopped are released within seconds instead
	// (see Heartbeat). It must exceed JobTimeout and every kind's own
	// deadline (Timeouter). Zero means DefaultRescueAfter (1 hour), or
	// JobTimeout plus 1 hour when JobTimeout is 1 hour or more.
	RescueAfter time.Duration

	// Heartbeat is how often a started client with workers records in the
	// database that it is alive. One that has not done so for 3
	// heartbeats, by the database's clock, is taken for dead, and the
	// other clients release its running jobs: they run again at once,
	// whatever their deadline, the interrupted attempt recorded as an
	// error. Each client judges others by the heartbeat they declared, so
	// clients may differ. Zero means DefaultHeartbeat (5 seconds): a
	// crashed process's jobs run again within about 20 seconds of its
	// death.
	Heartbeat time.Duration

	// PollInterval is how often idle workers look for due jobs that they
	// were not told about: scheduled and retried jobs, and jobs enqueued
	// by another client (on MySQL only a client's own inserts wake its
	// workers at once; PostgreSQL notifies every process). Zero means
	// DefaultPollInterval (1 second).
	PollInterval time.Duration

	// Backoff is the wait after failed attempt n before attempt n+1. Nil
	// means DefaultBackoff.
	Backoff func(attempt int) time.Duration

	// Retention is how long completed and cancelled jobs are kept; zero
	// means DefaultRetention (24 hours). DiscardedRetention is how long
	// discarded (dead) ones are; zero means DefaultDiscardedRetention (7
	// days).
	Retention          time.Duration
	DiscardedRetention time.Duration

	// PruneInterval is how often the prune job deletes finished jobs past
	// their retention while a client with workers runs. Zero means
	// DefaultPruneInterval (1 hour); negative turns the prune job off.
	PruneInterval time.Duration

	// OnAttempt, if set, is called as each attempt of this client's
	// workers ends, with its kind, duration and outcome: the hook a
	// metrics collector counts jobs by kind with. It must be fast and safe
	// for concurrent use. Nil means none.
	OnAttempt func(Attempt)

	// Logger receives failed attempts and the engine's warnings. Nil means
	// slog.Default().
	Logger *slog.Logger

	// Now is the clock of this package's own code: Prune's retention,
	// the retry times Backoff gives, and on MySQL every time the queue
	// writes or compares (scheduling, rescue, periodic jobs). Nil means
	// time.Now. Tests set it to move time forward without waiting. River's
	// machinery keeps its own clock (River's Config.Test.Time is its test
	// hook, which this package does not set).
	Now func() time.Time
}

// PeriodicJob is a job enqueued every Every. Args is called for each one.
// With RunOnStart one is also enqueued when the workers start.
type PeriodicJob struct {
	Every      time.Duration
	Args       func() Args
	RunOnStart bool
}

// WithDefaults returns c with every zero field set to its default: the one
// place defaults are filled. Negative values are left for Validate.
func (c Config) WithDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.RescueAfter == 0 {
		c.RescueAfter = DefaultRescueAfter
		if c.JobTimeout >= DefaultRescueAfter {
			c.RescueAfter = c.JobTimeout + DefaultRescueAfter
		}
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.DiscardedRetention == 0 {
		c.DiscardedRetention = DefaultDiscardedRetention
	}
	if c.PruneInterval == 0 {
		c.PruneInterval = DefaultPruneInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every field of c that New would refuse, each error
// naming the field and what it must be. It accepts c with or without
// defaults: zero fields are checked as their defaults.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, want string, got any) {
		errs = append(errs, fmt.Errorf("jobs: Config.%s must be %s, not %v", field, want, got))
	}
	if c.Concurrency < 0 {
		bad("Concurrency", "0 (the default) or more", c.Concurrency)
	}
	if c.MaxAttempts < 0 {
		bad("MaxAttempts", "0 (the default) or more", c.MaxAttempts)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"JobTimeout", c.JobTimeout},
		{"RescueAfter", c.RescueAfter},
		{"PollInterval", c.PollInterval},
		{"Heartbeat", c.Heartbeat},
		{"Retention", c.Retention},
		{"DiscardedRetention", c.DiscardedRetention},
	} {
		if d.v < 0 {
			bad(d.field, "a positive duration, or 0 for the default", d.v)
		}
	}
	if d := c.WithDefaults(); c.RescueAfter >= 0 && c.JobTimeout >= 0 && d.RescueAfter <= d.JobTimeout {
		bad("RescueAfter", fmt.Sprintf("longer than JobTimeout (%s)", d.JobTimeout), d.RescueAfter)
	}
	for i, p := range c.Periodic {
		if p.Every <= 0 {
			bad(fmt.Sprintf("Periodic[%d].Every", i), "a positive duration", p.Every)
		}
		if p.Args == nil {
			errs = append(errs, fmt.Errorf("jobs: Config.Periodic[%d].Args must be a function returning the job's Args, not nil", i))
		}
	}
	return errors.Join(errs...)
}
