// Package doctor is kura's security checklist as data: Checks lists each
// check (its name, what it checks, the worst it reports, and the function
// that runs it over an Env), and Run runs them. The engine SQL of the
// checks lives here and in sqldb/roles; kura doctor builds the Env from
// its configuration, selects, runs and prints.
//
// An Env describes a deployment: the configuration's values, where each
// came from, the .env file, and the database opened as the application
// serves with it (read only). Nothing here changes anything, but a
// Result's Repair, which a caller may apply (a file's mode).
package doctor

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
)

// Status is the outcome of a check, in increasing order of gravity.
type Status string

// The statuses of a check.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// rank orders the statuses: OK, Warn, Fail.
func (s Status) rank() int {
	switch s {
	case Warn:
		return 1
	case Fail:
		return 2
	}
	return 0
}

// Worse reports whether s is graver than t.
func (s Status) Worse(t Status) bool { return s.rank() > t.rank() }

// Result is the outcome of one check; JSON as kura doctor --json prints it.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"status"` // ok, warn or fail
	Message string `json:"message"`
	Fix     string `json:"fix"`             // "" when ok
	Fixed   string `json:"fixed,omitempty"` // what a repair changed for this check

	// Repair, when set, is a fix the caller may apply itself (a file's
	// mode); it says what it changed.
	Repair func() (string, error) `json:"-"`
}

// Check is one item of the checklist.
type Check struct {
	Name     string // as printed: secrets, env-file, …
	Doc      string // what it checks, in a line
	Severity Status // the worst status it reports: Warn or Fail
	Run      func(ctx context.Context, e *Env) Result
}

// Lookup returns the check of Checks named name.
func Lookup(name string) (Check, bool) {
	for _, c := range Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Run runs each check over e in order, naming its result.
func Run(ctx context.Context, e *Env, checks []Check) []Result {
	out := make([]Result, 0, len(checks))
	for _, c := range checks {
		r := c.Run(ctx, e)
		r.Check = c.Name
		out = append(out, r)
	}
	return out
}

// Env is what the checks look at. A zero field is a setting left unset;
// a nil func is the default (Tracked: GitStatusOf) or, for Scratch, not
// checked.
type Env struct {
	DatabaseURL        string        // DATABASE_URL, as the database is opened with
	MigrateDatabaseURL string        // KURA_MIGRATE_DATABASE_URL; "" for none
	ReplicaURLs        []string      // DATABASE_REPLICA_URLS
	RedisURL           string        // REDIS_URL; "" for none
	MetricsAddr        string        // KURA_METRICS_ADDR; "" for none
	MetricsToken       bool          // whether KURA_METRICS_TOKEN is set
	SessionTTL         time.Duration // KURA_SESSION_TTL
	BackupInterval     time.Duration // KURA_BACKUP_INTERVAL; 0 or less: scheduled backups are off
	BackupVerifyEvery  int           // KURA_BACKUP_VERIFY_EVERY; 0: backup's default for the engine

	// RateLimits are the rate limit settings of this build: the switch
	// (a bool) and each limit (a ratelimit.Limit); none: not configured.
	RateLimits []Setting

	Environ map[string]string // the process environment and the flags
	EnvFile string            // the .env file's path; "" for none
	DotEnv  map[string]string // what the .env file sets; nil when there is none

	DB    *sqldb.DB // the database as the application serves with it; nil when not open
	DBErr error     // why DB is nil

	Hash HashParams // the password hash's parameters; zero: the password package's

	Tracked    func(path string) (GitStatus, error)             // whether git tracks path
	Backups    func(ctx context.Context) (*BackupStatus, error) // what the backups' run log says; nil status: none yet
	Scratch    func(ctx context.Context) string                 // what keeps backup verify from running; nil: not checked
	ScratchFix string                                           // the fix when Scratch reports a problem
}

// Setting is a configuration variable's name and value.
type Setting struct {
	Name  string
	Value any
}

// HashParams are the password hash's argon2id parameters.
type HashParams struct{ MemoryKiB, Time, Threads int }

// BackupStatus is what the backups' run log says: when the last backup
// succeeded and when one last passed its verify (zero: never), and why
// the last attempt failed ("" if it did not).
type BackupStatus struct {
	LastSuccess  time.Time
	LastVerified time.Time
	LastFailure  string
	FailedVerify string // the last backup's name when its verify did not pass
}

// source returns where the variable name's value came from: "the
// environment", the .env file's name, or "" when it is not set.
func (e *Env) source(name string) string {
	if v, ok := e.Environ[name]; ok && v != "" {
		return "the environment"
	}
	if v, ok := e.DotEnv[name]; ok && v != "" {
		return e.EnvFile
	}
	return ""
}

func (e *Env) tracked(path string) (GitStatus, error) {
	if e.Tracked == nil {
		return GitStatusOf(path)
	}
	return e.Tracked(path)
}

func (e *Env) hash() HashParams {
	if e.Hash == (HashParams{}) {
		return HashParams{password.Memory, password.Time, password.Threads}
	}
	return e.Hash
}

func (e *Env) dialect() sqldb.Dialect {
	d, _ := sqldb.ParseDialect(e.DatabaseURL)
	return d
}

func ok(msg string, a ...any) Result {
	return Result{Status: OK, Message: fmt.Sprintf(msg, a...)}
}

func warn(fix, msg string, a ...any) Result {
	return Result{Status: Warn, Message: fmt.Sprintf(msg, a...), Fix: fix}
}

func fail(fix, msg string, a ...any) Result {
	return Result{Status: Fail, Message: fmt.Sprintf(msg, a...), Fix: fix}
}

// worse returns the worse of a and b, a on a tie; its fix is kept.
func worse(a, b Result) Result {
	if b.Status.Worse(a.Status) {
		return b
	}
	return a
}

// duration writes d as kura's help shows a number of seconds: whole hours
// as "24h", else seconds ("600", "0.5").
func duration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
