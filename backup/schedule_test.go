package backup_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/jobs"
)

// TestSchedule: a due backup is taken, recorded and, in its turn,
// verified; one not due is not; a failure is recorded and prunes nothing.
func TestSchedule(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		url := e.url(t)
		db := mustOpen(t, url, 5)
		clock := time.Now()
		cfg := config(t, url)
		cfg.Now = func() time.Time { return clock }
		s := &backup.Schedule{DB: db, Config: cfg, Interval: 24 * time.Hour, VerifyEvery: 2, Retention: backup.Retention{KeepDays: 1, Keep: 1}}

		m, err := s.RunDue(ctx)
		if err != nil || m == nil {
			t.Fatalf("first run: %v %v", m, err)
		}
		st, err := backup.ReadStatus(ctx, db)
		if err != nil || st.Last == nil || !st.Last.OK || st.Last.Name != m.Name || st.Last.Bytes != m.Size || st.SinceVerify != 1 {
			t.Fatalf("status after the first backup: %v %+v", err, st)
		}
		if st.LastVerified != nil {
			t.Fatal("verified the first of every two")
		}
		clock = clock.Add(time.Hour)
		if m, err := s.RunDue(ctx); err != nil || m != nil {
			t.Fatalf("a backup an hour after the last: %v %v", m, err)
		}
		clock = clock.Add(24 * time.Hour)
		m2, err := s.RunDue(ctx)
		if err != nil || m2 == nil {
			t.Fatalf("a due backup: %v %v", m2, err)
		}
		st, _ = backup.ReadStatus(ctx, db)
		if st.LastVerified == nil || st.LastVerified.Name != m2.Name || !st.LastVerified.Verified.OK || st.SinceVerify != 0 {
			t.Fatalf("the second backup was not verified: %+v", st)
		}

		// A failure (the folder is a file now): recorded, nothing pruned.
		before, _ := backup.List(cfg.Dir)
		s.Config.Dir = cfg.Dir + "/data.sqlite.gz-not-a-folder"
		if err := os.WriteFile(s.Config.Dir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(48 * time.Hour)
		if _, err := s.RunDue(ctx); err == nil {
			t.Fatal("a backup into a file succeeded")
		}
		st, _ = backup.ReadStatus(ctx, db)
		if st.Last.OK || st.Last.Problem == "" || st.LastSuccess.Name != m2.Name {
			t.Fatalf("the failure is not recorded: %+v", st.Last)
		}
		if !st.Overdue(24*time.Hour, clock) {
			t.Error("a success 48h ago is not overdue for a daily backup")
		}
		after, _ := backup.List(cfg.Dir)
		if len(after) != len(before) {
			t.Fatalf("a failed backup pruned: %d backups, were %d", len(after), len(before))
		}
	})
}

// TestSchedule_Add: the worker and a periodic job exist only when an
// interval is set, and the job's deadline is the backup's own.
func TestSchedule_Add(t *testing.T) {
	if p := (&backup.Schedule{}).Add(jobs.NewWorkers()); p != nil {
		t.Fatalf("Interval 0 added %v", p)
	}
	p := (&backup.Schedule{Interval: 24 * time.Hour}).Add(jobs.NewWorkers())
	if len(p) != 1 || p[0].Every != time.Hour || !p[0].RunOnStart || p[0].Args().Kind() != "backup.create" {
		t.Fatalf("periodic job %+v", p)
	}
	if backup.JobTimeout >= jobs.DefaultRescueAfter {
		t.Fatalf("the backup job's deadline %s reaches the rescue %s", backup.JobTimeout, jobs.DefaultRescueAfter)
	}
}

// TestSchedule_PrunesAroundDamage: a damaged manifest in the folder
// neither fails the scheduled backup nor stops its prune; it is logged.
func TestSchedule_PrunesAroundDamage(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	db := mustOpen(t, url, 1)
	clock := time.Now()
	cfg := config(t, url)
	var logs strings.Builder
	cfg.Logger = newLogger(&logs)
	cfg.Now = func() time.Time { return clock }
	s := &backup.Schedule{DB: db, Config: cfg, Interval: 24 * time.Hour, VerifyEvery: 1, Retention: backup.Retention{KeepDays: 1, Keep: 1}}
	first, err := s.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(cfg.Dir, "kura-20000101T000000Z-sqlite.json")
	if err := os.WriteFile(damaged, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(48 * time.Hour)
	second, err := s.RunDue(ctx)
	if err != nil || second == nil {
		t.Fatalf("a due backup beside a damaged manifest: %v", err)
	}
	if _, err := os.Stat(first.Path()); !os.IsNotExist(err) {
		t.Errorf("the first backup, two days old and beyond KURA_BACKUP_KEEP, was not pruned: %v", err)
	}
	if _, err := os.Stat(damaged); err != nil {
		t.Errorf("the damaged manifest was deleted: %v", err)
	}
	if !strings.Contains(logs.String(), "backup prune left backups alone") || !strings.Contains(logs.String(), "kura-20000101T000000Z-sqlite") {
		t.Errorf("no warning naming the damaged backup:\n%s", logs.String())
	}
}
