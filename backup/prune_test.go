package backup_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
)

func TestRetention_Plan(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	mk := func(age time.Duration, verified *bool) *backup.Manifest {
		m := &backup.Manifest{Name: now.Add(-age).Format(time.RFC3339), Started: now.Add(-age)}
		if verified != nil {
			m.Verified = &backup.Check{OK: *verified}
		}
		return m
	}
	yes, no := true, false
	for _, tt := range []struct {
		name    string
		r       backup.Retention
		ages    []time.Duration // newest first
		checks  []*bool
		deleted []int // indexes
	}{
		{"young ones all kept", backup.Retention{KeepDays: 30, Keep: 2}, []time.Duration{0, day, 10 * day, 29 * day}, nil, nil},
		{"old beyond Keep go", backup.Retention{KeepDays: 30, Keep: 2}, []time.Duration{0, day, 31 * day, 40 * day}, nil, []int{2, 3}},
		{"Keep wins over age", backup.Retention{KeepDays: 1, Keep: 3}, []time.Duration{40 * day, 41 * day, 42 * day, 43 * day}, nil, []int{3}},
		{"the newest verified is kept", backup.Retention{KeepDays: 1, Keep: 1}, []time.Duration{2 * day, 3 * day, 4 * day, 5 * day},
			[]*bool{nil, &no, &yes, &yes}, []int{1, 3}},
		{"defaults", backup.Retention{}, []time.Duration{0, 1, 2, 3, 4, 5, 6, 31 * day, 32 * day}, nil, []int{7, 8}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var all []*backup.Manifest
			for i, age := range tt.ages {
				var v *bool
				if tt.checks != nil {
					v = tt.checks[i]
				}
				all = append(all, mk(age, v))
			}
			plan := tt.r.Plan(all, now)
			if len(plan) != len(tt.deleted) {
				t.Fatalf("deletes %d, want %d", len(plan), len(tt.deleted))
			}
			for i, d := range tt.deleted {
				if plan[i] != all[d] {
					t.Errorf("deletes %s, want %s", plan[i].Name, all[d].Name)
				}
			}
		})
	}
}

// TestPrune deletes what the plan says, manifest and data, and stale
// temporary files.
func TestPrune(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	mustOpen(t, url, 1)
	cfg := config(t, url)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return clock }
	var made []*backup.Manifest
	for range 4 {
		m, err := backup.Create(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, m)
		clock = clock.Add(10 * 24 * time.Hour)
	}
	stale := filepath.Join(cfg.Dir, ".tmp-crashed")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := clock.Add(-48 * time.Hour)
	os.Chtimes(stale, old, old)
	deleted, err := backup.Prune(cfg.Dir, backup.Retention{KeepDays: 15, Keep: 1}, clock)
	if err != nil {
		t.Fatal(err)
	}
	// Ages 40, 30, 20 and 10 days: the last one is kept (young).
	if len(deleted) != 3 {
		t.Fatalf("deleted %d, want 3", len(deleted))
	}
	left, _ := backup.List(cfg.Dir)
	if len(left) != 1 || left[0].Name != made[3].Name {
		t.Fatalf("left %v", left)
	}
	for _, m := range made[:3] {
		if _, err := os.Stat(m.Path()); !os.IsNotExist(err) {
			t.Errorf("%s's data file is left", m.Name)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("the stale temporary file is left")
	}

}

// TestPrune_AroundDamage: a backup whose manifest cannot be read is left
// whole and not counted, the retention still applies to the others, and
// the error names it (PrunePlan, the dry run, says the same).
func TestPrune_AroundDamage(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	mustOpen(t, url, 1)
	cfg := config(t, url)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return clock }
	var made []*backup.Manifest
	for range 5 {
		m, err := backup.Create(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, m)
		clock = clock.Add(10 * 24 * time.Hour)
	}
	// The newest and an old one get damaged: truncated JSON, and a
	// manifest that names another backup's data file.
	damaged := filepath.Join(cfg.Dir, made[4].Name+".json")
	if err := os.WriteFile(damaged, []byte(`{"name": "`+made[4].Name+`", "fi`), 0o600); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(cfg.Dir, made[1].Name+".json")
	if err := os.WriteFile(stray, []byte(`{"name": "`+made[1].Name+`", "file": "`+made[0].File+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := backup.Retention{KeepDays: 15, Keep: 1}
	plan, err := backup.PrunePlan(cfg.Dir, r, clock)
	var skipped *backup.SkippedError
	if !errors.As(err, &skipped) || len(skipped.Backups) != 2 {
		t.Fatalf("PrunePlan: %v, want a *SkippedError naming 2 backups", err)
	}
	// Readable: made[3] (10 days old, kept), made[2] and made[0] (30 and
	// 50 days, beyond Keep: deleted).
	if len(plan) != 2 || plan[0].Name != made[2].Name || plan[1].Name != made[0].Name {
		t.Fatalf("plan %v, want %s and %s", names(plan), made[2].Name, made[0].Name)
	}
	deleted, err := backup.Prune(cfg.Dir, r, clock)
	if !errors.As(err, &skipped) || len(deleted) != 2 {
		t.Fatalf("Prune: %v, deleted %v", err, names(deleted))
	}
	for _, want := range []string{made[4].Name, made[1].Name, "the manifest is damaged", "does not describe this backup", "never deletes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	for _, m := range []*backup.Manifest{made[4], made[1]} {
		for _, p := range []string{filepath.Join(cfg.Dir, m.Name+".json"), m.Path()} {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("a file of the unreadable backup %s is gone: %v", m.Name, err)
			}
		}
	}
	left, _ := backup.List(cfg.Dir)
	if len(left) != 1 || left[0].Name != made[3].Name {
		t.Fatalf("left %v, want %s", names(left), made[3].Name)
	}
}

func names(ms []*backup.Manifest) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return out
}
