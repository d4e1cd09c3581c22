package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// Defaults of Schedule.
const (
	DefaultInterval = 24 * time.Hour
	// DefaultVerifyEverySQLite: on SQLite a verify is a decompression and
	// a read of a local file, so every backup is verified.
	DefaultVerifyEverySQLite = 1
	// DefaultVerifyEveryServer: on PostgreSQL and MySQL a verify restores
	// into a scratch database on the production server, doubling the
	// backup's load on it and needing the right to create databases, so
	// one backup in seven is verified: weekly with daily backups.
	DefaultVerifyEveryServer = 7
	// JobTimeout bounds one scheduled backup with its verify and prune.
	JobTimeout = 45 * time.Minute
)

// JobArgs is the periodic backup job.
type JobArgs struct{}

// Kind names the job.
func (JobArgs) Kind() string { return "backup.create" }

// JobTimeout is the job's deadline, longer than an ordinary job's.
func (JobArgs) JobTimeout() time.Duration { return JobTimeout }

// Schedule takes backups on the job queue: a periodic job that exactly one
// instance takes, however many run, which backs up when the last
// successful backup is Interval old, records the outcome, verifies one
// backup in VerifyEvery and prunes by Retention (only after a backup that
// succeeded: a failed backup deletes nothing).
type Schedule struct {
	DB        *sqldb.DB // where the run log is
	Config    Config
	Retention Retention
	// Interval (KURA_BACKUP_INTERVAL) is the time between backups; zero
	// turns scheduled backups off.
	Interval time.Duration
	// VerifyEvery (KURA_BACKUP_VERIFY_EVERY) verifies one backup in so
	// many; zero means DefaultVerifyEverySQLite on SQLite and
	// DefaultVerifyEveryServer on the servers.
	VerifyEvery int
}

// tick is how often the periodic job looks whether a backup is due: a
// restart never delays a backup by more than this.
func (s *Schedule) tick() time.Duration { return min(s.Interval, time.Hour) }

// Add registers the backup worker in ws and returns the periodic job to
// add to jobs.Config.Periodic; with Interval zero it does nothing and
// returns nil.
func (s *Schedule) Add(ws *jobs.Workers) []jobs.PeriodicJob {
	if s.Interval <= 0 {
		return nil
	}
	jobs.AddWorker(ws, jobs.WorkerFunc[JobArgs](func(ctx context.Context, _ *jobs.Job[JobArgs]) error {
		_, err := s.RunDue(ctx)
		return err
	}))
	return []jobs.PeriodicJob{{Every: s.tick(), RunOnStart: true, Args: func() jobs.Args { return JobArgs{} }}}
}

// RunDue takes a backup if one is due, and returns it (nil when none was
// due).
func (s *Schedule) RunDue(ctx context.Context) (*Manifest, error) {
	cfg := s.Config.WithDefaults()
	st, err := ReadStatus(ctx, s.DB)
	if err != nil {
		return nil, err
	}
	if st.LastSuccess != nil && cfg.Now().Sub(st.LastSuccess.Ended) < s.Interval-s.tick()/2 {
		return nil, nil
	}
	return s.Run(ctx, st)
}

// Run takes a backup now, records it, verifies it when its turn has come
// and prunes.
func (s *Schedule) Run(ctx context.Context, st Status) (*Manifest, error) {
	cfg := s.Config.WithDefaults()
	started := cfg.Now()
	m, err := Create(ctx, cfg)
	if rerr := Record(ctx, s.DB, started, m, err); rerr != nil {
		cfg.Logger.Error("backup: could not record the outcome", "err", rerr)
	}
	if err != nil {
		return nil, err
	}
	every := s.VerifyEvery
	if every <= 0 {
		every = DefaultVerifyEveryServer
		if s.DB.Dialect() == sqldb.SQLite {
			every = DefaultVerifyEverySQLite
		}
	}
	if st.SinceVerify+1 >= every {
		c, err := Verify(ctx, m, cfg)
		if err != nil {
			cfg.Logger.Error("backup: the scheduled verify could not run", "backup", m.Name, "err", err)
		} else if err := RecordVerify(ctx, s.DB, m.Name, c); err != nil {
			cfg.Logger.Error("backup: could not record the verify", "err", err)
		}
	}
	deleted, err := Prune(cfg.Dir, s.Retention, cfg.Now())
	if _, ok := err.(*SkippedError); ok {
		// The backup succeeded and the others were pruned: what needs a
		// person is said, and the job does not fail for it.
		cfg.Logger.Warn("backup prune left backups alone", "err", err)
		err = nil
	}
	if err != nil {
		return m, fmt.Errorf("prune after backup %s: %w", m.Name, err)
	}
	if len(deleted) > 0 {
		cfg.Logger.Info("old backups pruned", "deleted", len(deleted))
	}
	return m, nil
}
