package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
)

// ReadBackups reads the backups' run log (backup.ReadStatus) of db; nil
// when there is none yet: no database, or one without the backup_runs
// table (kura's migration 5).
func ReadBackups(ctx context.Context, db *sqldb.DB) (*BackupStatus, error) {
	if db == nil {
		return nil, nil
	}
	has, err := sqldb.HasTable(ctx, db.Dialect(), db.Reader(), "backup_runs")
	if err != nil || !has {
		return nil, err
	}
	st, err := backup.ReadStatus(ctx, db)
	if err != nil || st.Last == nil {
		return nil, err
	}
	var bs BackupStatus
	if st.LastSuccess != nil {
		bs.LastSuccess = st.LastSuccess.Ended
	}
	if st.LastVerified != nil && st.LastVerified.Verified != nil {
		bs.LastVerified = st.LastVerified.Verified.At
	}
	if !st.Last.OK {
		bs.LastFailure = oneLine(st.Last.Problem, 120)
	}
	if v := st.Last.Verified; v != nil && !v.OK {
		bs.FailedVerify = st.Last.Name
	}
	return &bs, nil
}

// oneLine returns s on one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func (e *Env) backups(ctx context.Context) (*BackupStatus, error) {
	if e.Backups == nil {
		return ReadBackups(ctx, e.DB)
	}
	return e.Backups(ctx)
}

// maxVerifyAge is the age past which the last verified backup is too old:
// a week of daily backups, one verified in seven, and a day's slack.
const maxVerifyAge = 8 * 24 * time.Hour

// checkBackups: a recent backup succeeded and one was verified lately,
// and backup verify can make its scratch database.
func checkBackups(ctx context.Context, e *Env) Result {
	r := checkBackupRuns(ctx, e)
	if e.Scratch == nil {
		return r
	}
	p := e.Scratch(ctx)
	if p == "" {
		return r
	}
	v := fail(e.ScratchFix, "backup verify cannot run: %s", p)
	if r.Status != OK {
		v.Message += "; " + r.Message
	}
	return v
}

// checkBackupRuns: what the run log says.
func checkBackupRuns(ctx context.Context, e *Env) Result {
	st, err := e.backups(ctx)
	maxAge := 48 * time.Hour
	if i := e.BackupInterval; i > 0 {
		maxAge = max(2*i, time.Hour)
	}
	switch {
	case err != nil:
		return fail("check the backups", "cannot read the backups' status: %v", err)
	case st == nil && e.BackupInterval <= 0:
		return warn("set KURA_BACKUP_INTERVAL (such as 24h), or run kura backup create from cron", "no backup taken yet, and scheduled backups are off")
	case st == nil:
		return warn("start kura serve or kura worker (they take the first backup at once), or run kura backup create", "no backup taken yet")
	case st.LastFailure != "":
		return fail("see the error, run kura backup create to retry", "the last backup failed: %s", st.LastFailure)
	case st.FailedVerify != "":
		return fail("kura backup list --json says why (verified.problem); then take and verify a new one: kura backup create, kura backup verify --latest",
			"the last backup, %s, failed its verify: it does not restore as its manifest says", st.FailedVerify)
	case st.LastSuccess.IsZero() || time.Since(st.LastSuccess) > maxAge:
		return fail("run kura backup create and see why the scheduled ones stopped", "no successful backup in %s", duration(maxAge.Round(time.Hour)))
	case st.LastVerified.IsZero():
		return warn("run kura backup verify --latest now: until a verify passes, nothing shows that the backups restore",
			"the last backup (%s) succeeded, but no backup has passed a verify yet%s", st.LastSuccess.UTC().Format(time.RFC3339), verifyScheduleNote(e))
	case time.Since(st.LastVerified) > maxVerifyAge:
		return warn(`run kura backup verify --latest, and look in the log for why the scheduled verifies stopped ("the scheduled verify could not run")`,
			"the last backup (%s) succeeded, but the last verify that passed was %d days ago (more than %d)",
			st.LastSuccess.UTC().Format(time.RFC3339), int(time.Since(st.LastVerified)/(24*time.Hour)), maxVerifyAge/(24*time.Hour))
	}
	return ok("last backup %s; last verified %s", st.LastSuccess.UTC().Format(time.RFC3339), st.LastVerified.UTC().Format(time.RFC3339))
}

// verifyScheduleNote says when the scheduled backups verify one, for a
// backup status that has none verified yet: on a new install on a server
// the first verify comes with the 7th daily backup.
func verifyScheduleNote(e *Env) string {
	if e.BackupInterval <= 0 {
		return " (scheduled backups are off: only a verify by hand checks them)"
	}
	every := e.BackupVerifyEvery
	if every <= 0 {
		every = backup.DefaultVerifyEveryServer
		if e.dialect() == sqldb.SQLite {
			every = backup.DefaultVerifyEverySQLite
		}
	}
	if every == 1 {
		return " (scheduled backups verify each one: the last verify did not pass or could not run; see the log)"
	}
	return fmt.Sprintf(" (scheduled backups verify one in %d, KURA_BACKUP_VERIFY_EVERY: on a new install the first verify comes with the %d%s scheduled backup)",
		every, every, ordinalSuffix(every))
}

func ordinalSuffix(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}
