package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

func TestConfig_WithDefaults(t *testing.T) {
	d := jobs.Config{}.WithDefaults()
	if d.Concurrency != jobs.DefaultConcurrency || d.MaxAttempts != jobs.DefaultMaxAttempts ||
		d.JobTimeout != jobs.DefaultJobTimeout || d.RescueAfter != jobs.DefaultRescueAfter ||
		d.PollInterval != jobs.DefaultPollInterval || d.Heartbeat != jobs.DefaultHeartbeat || d.Retention != jobs.DefaultRetention ||
		d.DiscardedRetention != jobs.DefaultDiscardedRetention || d.PruneInterval != jobs.DefaultPruneInterval ||
		d.Backoff == nil || d.Logger == nil || d.Now == nil {
		t.Fatalf("defaults: %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	long := jobs.Config{JobTimeout: 2 * time.Hour}.WithDefaults()
	if long.RescueAfter != 3*time.Hour {
		t.Errorf("RescueAfter with a 2 hour JobTimeout: %s, want 3h", long.RescueAfter)
	}
	if off := (jobs.Config{PruneInterval: -1}).WithDefaults(); off.PruneInterval != -1 {
		t.Errorf("a negative PruneInterval became %s; it turns pruning off", off.PruneInterval)
	}
}

func TestConfig_Validate(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	tick := func() jobs.Args { return tickArgs{} }
	for _, tc := range []struct {
		name string
		cfg  jobs.Config
		want string // in the error; "" means valid
	}{
		{"zero", jobs.Config{}, ""},
		{"pruning off", jobs.Config{PruneInterval: -1}, ""},
		{"negative concurrency", jobs.Config{Concurrency: -1}, "Config.Concurrency must be 0 (the default) or more"},
		{"negative attempts", jobs.Config{MaxAttempts: -2}, "Config.MaxAttempts"},
		{"negative timeout", jobs.Config{JobTimeout: -time.Second}, "Config.JobTimeout must be a positive duration"},
		{"negative poll", jobs.Config{PollInterval: -time.Second}, "Config.PollInterval"},
		{"negative heartbeat", jobs.Config{Heartbeat: -time.Second}, "Config.Heartbeat must be a positive duration"},
		{"negative retention", jobs.Config{Retention: -time.Second}, "Config.Retention"},
		{"negative discarded retention", jobs.Config{DiscardedRetention: -time.Second}, "Config.DiscardedRetention"},
		{"rescue below timeout", jobs.Config{JobTimeout: time.Hour, RescueAfter: time.Minute}, "Config.RescueAfter must be longer than JobTimeout (1h0m0s)"},
		{"rescue below default timeout", jobs.Config{RescueAfter: 30 * time.Second}, "Config.RescueAfter must be longer than JobTimeout (1m0s)"},
		{"periodic without interval", jobs.Config{Periodic: []jobs.PeriodicJob{{Args: tick}}}, "Config.Periodic[0].Every must be a positive duration"},
		{"periodic without args", jobs.Config{Periodic: []jobs.PeriodicJob{{Every: time.Second}}}, "Config.Periodic[0].Args"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want an error containing %q", err, tc.want)
			}
			if _, err := jobs.New(db, tc.cfg); err == nil {
				t.Fatal("New accepted a config that Validate refuses")
			}
		})
	}
}

// plainDB is a jobs.DB without the optional PgxPool.
type plainDB struct{ jobs.DB }

func TestNew_PostgresWorkersNeedPgxPool(t *testing.T) {
	db := plainDB{openDB(t, sqldb.Postgres)}
	ws := jobs.NewWorkers()
	jobs.AddWorker(ws, jobs.WorkerFunc[echoArgs](func(context.Context, *jobs.Job[echoArgs]) error { return nil }))
	if _, err := jobs.New(db, jobs.Config{Workers: ws}); err == nil || !strings.Contains(err.Error(), "PgxPool(maxConns int32)") {
		t.Fatalf("New with workers on a PostgreSQL DB without PgxPool: %v, want an error naming the method", err)
	}
	// Enqueueing and managing need no pgx pool.
	c, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(context.Background(), echoArgs{}, nil); err != nil {
		t.Fatal(err)
	}
}
