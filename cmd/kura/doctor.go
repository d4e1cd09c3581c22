package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kura-dev/kura/password"
	"github.com/kura-dev/kura/sqldb"
)

// doctorCommand audits the security checklist against the live
// configuration and database, changing nothing.
type doctorCommand struct {
	m      *Main
	cf     configFlags
	json   bool
	strict bool
	fix    bool
}

var doctorDoc = doc{
	synopsis: "doctor [--json] [--strict] [--fix] [--env-file FILE]",
	about: `Audit the security checklist against this configuration and its database,
one line per check: ✓ (ok), ! (a warning) or ✗ (a failure), with the fix.
It checks where the secrets come from and the .env file's mode and git
status, TLS to the database, the role kura serves with (not a superuser, not
the schema's owner, no DDL), backups, the SQLite file's mode, Redis off
loopback, an admin account, the session lifetime and password hashing, rate
limits and who can read the metrics. It changes nothing: it never migrates
nor creates a table or a SQLite file.

--fix applies the fixes that are a file's mode (the SQLite file and its
folder, the .env file), as chmod would, from wherever kura runs (its image
has no shell), then checks again; it changes nothing else.

The exit status is 0 when nothing failed, 2 when a check failed, and with
--strict 1 when a check only warned.`,
	env: envLog | envDB | envHTTP | envCache | envMigrate | envMigrator | envJobs | envShutdown | envDrain | envMetrics | envBackup | envMail,
}

func (c *doctorCommand) flags() *flag.FlagSet {
	fs := newFlagSet("doctor", &c.cf)
	fs.BoolVar(&c.json, "json", false, "print a JSON array of {check, status, message, fix}")
	fs.BoolVar(&c.strict, "strict", false, "exit with status 1 when a check warns")
	fs.BoolVar(&c.fix, "fix", false, "set the modes of the SQLite file, its folder and the .env file that a check fails, then check again")
	return fs
}

func (c *doctorCommand) Usage(w io.Writer) { printUsage(w, doctorDoc, c.flags()) }

func (c *doctorCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "doctor takes no arguments")
	}
	e, err := c.m.doctorEnvOf(ctx, &c.cf)
	if err != nil {
		return err
	}
	defer e.close()
	results := runChecks(ctx, e, doctorChecks)
	if c.fix {
		results = c.repair(ctx, e, results)
	}
	if err := c.print(results); err != nil {
		return err
	}
	return doctorVerdict(results, c.strict)
}

// repair applies the repairs of results that did not pass, and checks
// again until none is left (a folder and then its file), at most a few
// rounds. What it changed is kept in each result's Fixed; what it could
// not change is said on Stderr.
func (c *doctorCommand) repair(ctx context.Context, e *doctorEnv, results []checkResult) []checkResult {
	fixed := map[string][]string{}
	for range 4 {
		done := false
		for _, r := range results {
			if r.repair == nil || r.Status == statusOK {
				continue
			}
			what, err := r.repair()
			if err != nil {
				fmt.Fprintf(c.m.Stderr, "kura: doctor --fix: %s: %v\n", r.Check, err)
				continue
			}
			fixed[r.Check] = append(fixed[r.Check], what)
			done = true
		}
		results = runChecks(ctx, e, doctorChecks)
		if !done {
			break
		}
	}
	for i, r := range results {
		results[i].Fixed = strings.Join(fixed[r.Check], "; ")
	}
	return results
}

// print writes the results as lines or, with --json, as a JSON array.
func (c *doctorCommand) print(results []checkResult) error {
	if c.json {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	for _, r := range results {
		line := fmt.Sprintf("%s %-14s %s", statusMarks[r.Status], r.Check, r.Message)
		if r.Fix != "" {
			line += " — fix: " + r.Fix
		}
		if r.Fixed != "" {
			line += " (fixed: " + r.Fixed + ")"
		}
		if _, err := fmt.Fprintln(c.m.Stdout, line); err != nil {
			return err
		}
	}
	return nil
}

// doctorVerdict returns the error that gives the exit status: 2 when a
// check failed, 1 with strict when one warned, else nil.
func doctorVerdict(results []checkResult, strict bool) error {
	var fails, warns int
	for _, r := range results {
		switch r.Status {
		case statusFail:
			fails++
		case statusWarn:
			warns++
		}
	}
	switch {
	case fails > 0:
		return exitStatus{code: 2, msg: fmt.Sprintf("doctor: %d of %d checks failed", fails, len(results))}
	case warns > 0 && strict:
		return exitStatus{code: 1, msg: fmt.Sprintf("doctor: %d of %d checks warned (--strict)", warns, len(results))}
	}
	return nil
}

// exitStatus is an error that sets the process's exit status to code.
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }

// The statuses of a check.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
)

var statusMarks = map[string]string{statusOK: "✓", statusWarn: "!", statusFail: "✗"}

// checkResult is the outcome of one check.
type checkResult struct {
	Check   string `json:"check"`
	Status  string `json:"status"` // ok, warn or fail
	Message string `json:"message"`
	Fix     string `json:"fix"`             // "" when ok
	Fixed   string `json:"fixed,omitempty"` // what --fix changed for this check

	// repair, when set, is the fix that kura doctor --fix applies itself
	// (a file's mode); it says what it changed.
	repair func() (string, error)
}

// doctorEnv is what the checks look at: the configuration and where each
// value came from, the .env file, the database (read only) and the facts
// a test may change, such as the password hashing parameters.
type doctorEnv struct {
	cfg      Config
	environ  map[string]string // the process environment and the flags
	envFile  string            // the .env file's path; "" for none
	dotenv   map[string]string // what the .env file sets; nil when there is none
	db       *sqldb.DB         // the database as kura serves with it; nil when not open
	dbErr    error             // why db is nil
	hash     hashParams
	tracked  func(path string) (gitStatus, error) // whether git tracks path
	backups  func(ctx context.Context) (*backupStatus, error)
	scratch  func(ctx context.Context) string // what keeps backup verify from running; nil: not checked
	rateVars []variable                       // the rate limit variables this kura has
}

// hashParams are the password hash's argon2id parameters.
type hashParams struct{ memoryKiB, time, threads int }

// doctorEnvOf loads the configuration as serve would and opens the
// database without migrating; a database that does not open is a finding
// of the checks, not an error. A SQLite file that does not exist is not
// created.
func (m *Main) doctorEnvOf(ctx context.Context, cf *configFlags) (*doctorEnv, error) {
	src := cf.source(m)
	cfg, err := loadConfig(src)
	if err != nil {
		return nil, err
	}
	e := &doctorEnv{cfg: cfg, environ: map[string]string{}, envFile: src.envFile,
		hash:    hashParams{password.Memory, password.Time, password.Threads},
		tracked: gitStatusOf, rateVars: rateLimitVariables()}
	e.backups, e.scratch = backupsOf(e), scratchOf(e)
	for _, kv := range src.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.environ[k] = v
		}
	}
	for _, f := range src.flags {
		e.environ[f.name] = f.value
	}
	if src.envFile != "" {
		if e.dotenv, err = readDotEnv(src.envFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	e.db, e.dbErr = openForDoctor(ctx, cfg, m.Stderr)
	return e, nil
}

// openForDoctor opens the database of cfg as it is, never creating a
// SQLite file.
func openForDoctor(ctx context.Context, cfg Config, logs io.Writer) (*sqldb.DB, error) {
	if d, _ := sqldb.ParseDialect(cfg.URL()); d == sqldb.SQLite {
		path, err := sqldb.SQLitePath(cfg.URL())
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database file at %s yet", filepath.Clean(path))
		}
	}
	cfg.LogLevel = max(cfg.LogLevel, slog.LevelWarn) // the report is the output
	return sqldb.Open(ctx, cfg.DB(cfg.Logger(logs)))
}

func (e *doctorEnv) close() {
	if e.db != nil {
		e.db.Close()
	}
}

// source returns where the variable name's value came from: "the
// environment", the .env file's name, or "" when it is not set.
func (e *doctorEnv) source(name string) string {
	if v, ok := e.environ[name]; ok && v != "" {
		return "the environment"
	}
	if v, ok := e.dotenv[name]; ok && v != "" {
		return e.envFile
	}
	return ""
}

// check is one item of the checklist.
type check struct {
	name string
	run  func(ctx context.Context, e *doctorEnv) checkResult
}

// runChecks runs each check in order, naming its result.
func runChecks(ctx context.Context, e *doctorEnv, checks []check) []checkResult {
	out := make([]checkResult, 0, len(checks))
	for _, c := range checks {
		r := c.run(ctx, e)
		r.Check = c.name
		out = append(out, r)
	}
	return out
}

func ok(msg string, a ...any) checkResult {
	return checkResult{Status: statusOK, Message: fmt.Sprintf(msg, a...)}
}

func warn(fix, msg string, a ...any) checkResult {
	return checkResult{Status: statusWarn, Message: fmt.Sprintf(msg, a...), Fix: fix}
}

func fail(fix, msg string, a ...any) checkResult {
	return checkResult{Status: statusFail, Message: fmt.Sprintf(msg, a...), Fix: fix}
}
