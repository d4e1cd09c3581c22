package app

import (
	"context"
	"sync"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/httpapi"
)

// backupSchedule is the schedule of the backups serve and worker take on
// the job queue.
func (a *App) backupSchedule() *backup.Schedule {
	return &backup.Schedule{DB: a.db, Config: a.cfg.Backup(a.log), Retention: a.cfg.Retention(),
		Interval: a.cfg.BackupInterval.D(), VerifyEvery: a.cfg.BackupVerifyEvery}
}

// backupStatusTTL is how long the run log read for /health and the
// metrics is reused: /health is polled every few seconds.
const backupStatusTTL = 2 * time.Second

// backupStatus returns the process's reader of the backups' run log,
// cached for backupStatusTTL.
func (a *App) backupStatus() func(ctx context.Context) (backup.Status, error) {
	a.backupsOnce.Do(func() {
		var (
			mu  sync.Mutex
			at  time.Time
			st  backup.Status
			err error
		)
		a.backupsRead = func(ctx context.Context) (backup.Status, error) {
			mu.Lock()
			defer mu.Unlock()
			if at.IsZero() || time.Since(at) > backupStatusTTL || err != nil {
				st, err = backup.ReadStatus(ctx, a.db)
				at = time.Now()
			}
			return st, err
		}
	})
	return a.backupsRead
}

// Words of /health's "backup" note.
const (
	BackupNoteOK      = "ok"      // the last backup succeeded and is on time
	BackupNoteOff     = "off"     // no schedule, and none was ever taken
	BackupNoteNone    = "pending" // scheduled, the first one not taken yet
	BackupNoteFailed  = "failed"  // the last attempt failed
	BackupNoteOverdue = "overdue" // the last success is over two intervals old
	BackupNoteUnknown = "unknown" // the run log could not be read
)

// backupNote is /health's "backup" note: a failed or overdue backup is for
// an operator to see, and never makes /health answer 503.
func (a *App) backupNote() httpapi.HealthNote {
	read, interval := a.backupStatus(), a.cfg.BackupInterval.D()
	return httpapi.HealthNote{Name: "backup", Note: func(ctx context.Context) string {
		st, err := read(ctx)
		switch {
		case err != nil:
			return BackupNoteUnknown
		case st.Last == nil && interval <= 0:
			return BackupNoteOff
		case st.Last == nil:
			return BackupNoteNone
		case !st.Last.OK:
			return BackupNoteFailed
		case st.Overdue(interval, time.Now()):
			return BackupNoteOverdue
		}
		return BackupNoteOK
	}}
}
