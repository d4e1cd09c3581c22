package main

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/maintain"
)

func TestMaintain_JSONOnEveryEngine(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL}
		if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
			t.Fatalf("migrate up: %v\n%s", err, logs)
		}
		out, logs, err := runKura(t, env, "", "maintain", "--json", "--instances", "2")
		if err != nil {
			t.Fatalf("maintain --json: %v\n%s", err, logs)
		}
		var r maintain.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("the output is not one JSON report: %v\n%s", err, out)
		}
		if r.Engine == "" || len(r.Steps) == 0 || r.Unused == nil || r.Budget == nil {
			t.Fatalf("report %+v: want the engine, the steps, unused indexes and the budget", r)
		}
		if r.Engine != "sqlite" && (r.Budget.Instances != 2 || r.Budget.Verdict != maintain.BudgetOK || r.Budget.PoolConns != 15) {
			t.Fatalf("budget %+v: want 2 instances of the default pool (15), ok", r.Budget)
		}
		for _, s := range r.Steps {
			if s.Status == maintain.StatusFailed {
				t.Errorf("step %+v failed", s)
			}
		}
	})
}

func TestMaintain_DamagedSQLiteFails(t *testing.T) {
	dbURL := "sqlite:" + t.TempDir() + "/kura.db"
	env := []string{"DATABASE_URL=" + dbURL}
	if _, logs, err := runKura(t, env, "", "users", "seed", "--count", "3000"); err != nil {
		t.Fatalf("seed: %v\n%s", err, logs)
	}
	dbtest.CorruptSQLiteIndex(t, dbURL, "users_username_key")
	out, _, err := runKura(t, env, "", "maintain")
	if err == nil || !strings.Contains(err.Error(), "quick_check") {
		t.Fatalf("maintain of a damaged file: %v, want an error naming quick_check", err)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if !strings.Contains(out, "failed   quick_check") || !strings.Contains(out, "restore it from a backup") {
		t.Fatalf("report:\n%s\nwant quick_check failed and the writing steps skipped", out)
	}
}

func TestMaintain_BudgetOverExits2(t *testing.T) {
	dbURL := testenv.PostgresDatabase(t)
	out, _, err := runKura(t, []string{"DATABASE_URL=" + dbURL}, "", "maintain", "--report-only", "--instances", "500")
	var status exitStatus
	if !errors.As(err, &status) || status.code != 2 || !strings.Contains(out, "connection budget: over") {
		t.Fatalf("500 instances: %v\n%s\nwant exit status 2 and the budget over", err, out)
	}
}

func TestMaintain_Usage(t *testing.T) {
	out, _, err := runKura(t, nil, "", "maintain", "-h")
	if err == nil || !strings.Contains(out, "--instances") || !strings.Contains(out, "--report-only") || !strings.Contains(out, "DB_POOL_SIZE") {
		t.Fatalf("maintain -h: %v\n%s\nwant its flags and the variables it reads", err, out)
	}
	if _, _, err := runKura(t, nil, "", "maintain", "--instances", "0"); !isUsage(err) {
		t.Fatalf("--instances 0: %v, want a usage error", err)
	}
}

func TestMaintain_PeriodicJob(t *testing.T) {
	dbURL := "sqlite:" + t.TempDir() + "/kura.db"
	s := startKura(t, "DATABASE_URL="+dbURL, "KURA_MAINTAIN_INTERVAL=1s", "KURA_JOB_POLL_INTERVAL=0.1")
	testenv.Wait(t, 0, "the maintenance job's log line", func() bool {
		return strings.Contains(s.logs.String(), "database maintained")
	})
	if logs := s.logs.String(); !strings.Contains(logs, `summary="sqlite: `) || strings.Contains(logs, "level=ERROR") {
		t.Fatalf("logs:\n%s\nwant the report's summary and no error", logs)
	}
}
