package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kura-dev/kura/doctor"
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
	defer closeDoctorEnv(e)
	results := doctor.Run(ctx, e, doctor.Checks)
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
func (c *doctorCommand) repair(ctx context.Context, e *doctor.Env, results []doctor.Result) []doctor.Result {
	fixed := map[string][]string{}
	for range 4 {
		done := false
		for _, r := range results {
			if r.Repair == nil || r.Status == doctor.OK {
				continue
			}
			what, err := r.Repair()
			if err != nil {
				fmt.Fprintf(c.m.Stderr, "kura: doctor --fix: %s: %v\n", r.Check, err)
				continue
			}
			fixed[r.Check] = append(fixed[r.Check], what)
			done = true
		}
		results = doctor.Run(ctx, e, doctor.Checks)
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
func (c *doctorCommand) print(results []doctor.Result) error {
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
func doctorVerdict(results []doctor.Result, strict bool) error {
	var fails, warns int
	for _, r := range results {
		switch r.Status {
		case doctor.Fail:
			fails++
		case doctor.Warn:
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

var statusMarks = map[doctor.Status]string{doctor.OK: "✓", doctor.Warn: "!", doctor.Fail: "✗"}
