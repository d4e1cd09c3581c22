package doctor_test

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/doctor"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/sqldb"
)

// TestChecks_List: every check has a name of its own, a line saying what
// it checks, and a severity.
func TestChecks_List(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range doctor.Checks {
		switch {
		case !regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`).MatchString(c.Name):
			t.Errorf("check %q: want a lower-case name with dashes", c.Name)
		case seen[c.Name]:
			t.Errorf("check %q listed twice", c.Name)
		case strings.TrimSpace(c.Doc) == "" || strings.Contains(c.Doc, "\n"):
			t.Errorf("check %q: want a doc line, got %q", c.Name, c.Doc)
		case c.Severity != doctor.Warn && c.Severity != doctor.Fail:
			t.Errorf("check %q: severity %q, want warn or fail", c.Name, c.Severity)
		case c.Run == nil:
			t.Errorf("check %q has no function", c.Name)
		}
		seen[c.Name] = true
		if got, ok := doctor.Lookup(c.Name); !ok || got.Name != c.Name {
			t.Errorf("Lookup(%q): %v", c.Name, ok)
		}
	}
}

// TestChecks_EachEngine runs every check over a migrated database of each
// engine, as the superuser the tests connect as: each answers with a
// status no graver than its severity and a message, a fix when it is not
// ok, and no internal error (a query the engine refused).
func TestChecks_EachEngine(t *testing.T) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			raw := dbtest.URL(t, d)
			if d == sqldb.SQLite {
				raw = "sqlite:" + raw
			}
			db, err := sqldb.Open(ctx, sqldb.Config{URL: raw, Logger: dbtest.Logger(t, slog.LevelWarn)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrateUp(ctx, dbtest.Schemas...); err != nil {
				t.Fatal(err)
			}
			e := &doctor.Env{DatabaseURL: raw, DB: db, SessionTTL: 24 * time.Hour, BackupInterval: 24 * time.Hour,
				Tracked: func(string) (doctor.GitStatus, error) { return doctor.GitNoRepo, nil }}
			results := doctor.Run(ctx, e, doctor.Checks)
			if len(results) != len(doctor.Checks) {
				t.Fatalf("%d results of %d checks", len(results), len(doctor.Checks))
			}
			for i, r := range results {
				c := doctor.Checks[i]
				switch {
				case r.Check != c.Name:
					t.Errorf("result %d names %q, want %q", i, r.Check, c.Name)
				case r.Status != doctor.OK && r.Status != doctor.Warn && r.Status != doctor.Fail:
					t.Errorf("%s: status %q", c.Name, r.Status)
				case r.Status.Worse(c.Severity):
					t.Errorf("%s: %s, graver than its severity %s: %s", c.Name, r.Status, c.Severity, r.Message)
				case r.Message == "":
					t.Errorf("%s: no message", c.Name)
				case r.Status != doctor.OK && r.Fix == "":
					t.Errorf("%s: %s without a fix: %s", c.Name, r.Status, r.Message)
				case strings.Contains(r.Message, "cannot "):
					t.Errorf("%s: an internal error: %s", c.Name, r.Message)
				}
			}
			// What each engine says of its superuser and its fresh run log.
			want := map[string]doctor.Status{"backups": doctor.Warn, "admin": doctor.Warn, "database-role": doctor.Fail}
			if d == sqldb.SQLite {
				want["database-role"] = doctor.OK
			}
			for _, r := range results {
				if w, ok := want[r.Check]; ok && r.Status != w {
					t.Errorf("%s: %s (%s), want %s", r.Check, r.Status, r.Message, w)
				}
			}
		})
	}
}

// TestChecks_Docs: docs/SECURITY.md's table of doctor's checks lists every
// check, in order.
func TestChecks_Docs(t *testing.T) {
	b, err := os.ReadFile("../docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "| check | ok when | otherwise |")
	if !ok {
		t.Fatal("SECURITY.md has no table of doctor's checks")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var documented, listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	for _, c := range doctor.Checks {
		listed = append(listed, c.Name)
	}
	if !slices.Equal(documented, listed) {
		t.Errorf("SECURITY.md lists the checks %v; doctor.Checks is %v", documented, listed)
	}
}

func TestChecks_Config(t *testing.T) {
	run := func(name string, e *doctor.Env) doctor.Result {
		c, _ := doctor.Lookup(name)
		return c.Run(context.Background(), e)
	}
	for _, c := range []struct {
		check string
		env   doctor.Env
		want  doctor.Status
	}{
		{"redis", doctor.Env{RedisURL: "redis://cache.example.com:6379/0"}, doctor.Fail},
		{"redis", doctor.Env{RedisURL: "rediss://:pw@cache.example.com:6379"}, doctor.OK},
		{"metrics", doctor.Env{MetricsAddr: "0.0.0.0:9464"}, doctor.Fail},
		{"metrics", doctor.Env{MetricsAddr: "0.0.0.0:9464", MetricsToken: true}, doctor.OK},
		{"sessions", doctor.Env{SessionTTL: 90 * 24 * time.Hour}, doctor.Warn},
		{"sessions", doctor.Env{SessionTTL: time.Hour, Hash: doctor.HashParams{MemoryKiB: 4096, Time: 1, Threads: 1}}, doctor.Fail},
		{"rate-limits", doctor.Env{}, doctor.Warn},
		{"rate-limits", doctor.Env{RateLimits: []doctor.Setting{{Name: "KURA_RATE_LIMIT", Value: false}}}, doctor.Warn},
		{"database-tls", doctor.Env{DatabaseURL: "postgres://app@db.example.com/kura?sslmode=require"}, doctor.Warn},
		{"read-replicas", doctor.Env{ReplicaURLs: []string{"postgres://app@replica.example.com/kura?sslmode=disable"}}, doctor.Fail},
	} {
		if r := run(c.check, &c.env); r.Status != c.want {
			t.Errorf("%s over %+v: %s (%s), want %s", c.check, c.env, r.Status, r.Message, c.want)
		}
	}
}
