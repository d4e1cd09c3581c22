package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
)

const jobsAbout = `Inspect and steer background jobs. None of these commands migrates the
database: on one without the jobs tables they say to run "kura migrate up".`

// jobsCommands are the subcommands of kura jobs.
var jobsCommands = []entry{
	{"list", "list jobs, newest first", func(m *Main) Command { return &jobsListCommand{m: m} }},
	{"counts", "count jobs in each state: queue depth and failures", func(m *Main) Command { return &jobsCountsCommand{m: m} }},
	{"retry", "run a failed, discarded or cancelled job again now", func(m *Main) Command { return &jobsSteerCommand{m: m, action: "retry"} }},
	{"cancel", "cancel a job that has not finished", func(m *Main) Command { return &jobsSteerCommand{m: m, action: "cancel"} }},
}

// jobsEnv are the variables the jobs commands read.
const jobsEnv = envLog | envDB

// openJobs opens the database, which must be migrated, and a job client
// that works no jobs.
func (m *Main) openJobs(ctx context.Context, cf *configFlags) (*opened, *jobs.Client, error) {
	a, err := m.open(ctx, cf, schemaRequired)
	if err != nil {
		return nil, nil, err
	}
	jc, err := jobs.New(a.db, a.cfg.Jobs(0, a.log))
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, jc, nil
}

// jobsListCommand lists jobs, newest first.
type jobsListCommand struct {
	m           *Main
	cf          configFlags
	state, kind string
	limit       int
}

var jobsListDoc = doc{
	synopsis: "jobs list [--state STATE] [--kind KIND] [--limit N] [--env-file FILE]",
	about: `List jobs, newest first, with their state, attempts, next run and last error.
States: available, scheduled, running, retryable, completed, cancelled,
discarded (out of attempts) and pending; --state failed means retryable and
discarded.`,
	env: jobsEnv,
}

func (c *jobsListCommand) flags() *flag.FlagSet {
	fs := newFlagSet("jobs list", &c.cf)
	fs.StringVar(&c.state, "state", "", "list only jobs in this `state` (failed = retryable and discarded)")
	fs.StringVar(&c.kind, "kind", "", "list only jobs of this `kind`")
	fs.IntVar(&c.limit, "limit", 50, fmt.Sprintf("list at most `n` jobs (1 to %d)", jobs.MaxListLimit))
	return fs
}

func (c *jobsListCommand) Usage(w io.Writer) { printUsage(w, jobsListDoc, c.flags()) }

func (c *jobsListCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	opts, err := c.options(fs)
	if err != nil {
		return err
	}
	a, jc, err := c.m.openJobs(ctx, &c.cf)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := jc.List(ctx, opts)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tSTATE\tATTEMPT\tCREATED\tNEXT RUN\tLAST ERROR")
	for _, r := range rows {
		next := "-"
		switch r.State {
		case jobs.StateAvailable, jobs.StateScheduled, jobs.StateRetryable:
			next = r.ScheduledAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Kind, r.State, r.Attempt, r.MaxAttempts,
			r.CreatedAt.UTC().Format(time.DateTime), next, oneLine(r.LastError(), 80))
	}
	return w.Flush()
}

// options checks the flags and arguments, and returns the list's options.
func (c *jobsListCommand) options(fs *flag.FlagSet) (jobs.ListOptions, error) {
	opts := jobs.ListOptions{Limit: c.limit}
	if fs.NArg() > 0 {
		return opts, c.m.usageErr(c, "jobs list takes no arguments")
	}
	if c.limit < 1 || c.limit > jobs.MaxListLimit {
		return opts, usageError{fmt.Sprintf("--limit must be between 1 and %d", jobs.MaxListLimit)}
	}
	if c.state != "" {
		states, err := jobs.ParseStates(c.state)
		if err != nil {
			return opts, usageError{"--state " + kura.ErrorFields(err)["state"]}
		}
		opts.States = states
	}
	if c.kind != "" {
		opts.Kinds = []string{c.kind}
	}
	return opts, nil
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// jobsCountsCommand counts the jobs in each state.
type jobsCountsCommand struct {
	m  *Main
	cf configFlags
}

var jobsCountsDoc = doc{
	synopsis: "jobs counts [--env-file FILE]",
	about:    "Count the jobs in each state: the queue's depth, and its failures.",
	env:      jobsEnv,
}

func (c *jobsCountsCommand) flags() *flag.FlagSet { return newFlagSet("jobs counts", &c.cf) }

func (c *jobsCountsCommand) Usage(w io.Writer) { printUsage(w, jobsCountsDoc, c.flags()) }

func (c *jobsCountsCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "jobs counts takes no arguments")
	}
	a, jc, err := c.m.openJobs(ctx, &c.cf)
	if err != nil {
		return err
	}
	defer a.Close()
	counts, err := jc.Counts(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STATE\tJOBS")
	for _, s := range jobs.States {
		fmt.Fprintf(w, "%s\t%d\n", s, counts[s])
	}
	return w.Flush()
}

// jobsSteerCommand retries or cancels one job.
type jobsSteerCommand struct {
	m      *Main
	cf     configFlags
	action string // retry or cancel
}

func (c *jobsSteerCommand) doc() doc {
	d := doc{synopsis: "jobs " + c.action + " ID [--env-file FILE]", env: jobsEnv}
	if c.action == "retry" {
		d.about = `Make the job ID available to run again now: a failed, discarded or
cancelled one, or a completed one to run it once more. A running job is
refused while its process lives; one whose process has stopped beating (it
died, or lost the database) is released first, its attempt recorded as
interrupted. Exits 1, saying why, when the job cannot be retried.`
	} else {
		d.about = `Cancel the job ID if it has not finished: it will not run again. A running
job's attempt is ended by its process; one whose process has stopped beating
is released and cancelled at once. Exits 1, saying why, for a job that has
finished (completed, cancelled or discarded).`
	}
	return d
}

func (c *jobsSteerCommand) flags() *flag.FlagSet { return newFlagSet("jobs "+c.action, &c.cf) }

func (c *jobsSteerCommand) Usage(w io.Writer) { printUsage(w, c.doc(), c.flags()) }

func (c *jobsSteerCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return c.m.usageErr(c, fmt.Sprintf("jobs %s needs one job ID", c.action))
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id < 1 {
		return usageError{fmt.Sprintf("job id %q is not a positive number", fs.Arg(0))}
	}
	a, jc, err := c.m.openJobs(ctx, &c.cf)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.refuseReadOnly(ctx, "kura jobs "+c.action); err != nil {
		return err
	}
	f := jc.Retry
	if c.action == "cancel" {
		f = jc.Cancel
	}
	row, err := f(ctx, id)
	if err != nil {
		return jobsError(id, err)
	}
	if row.State == jobs.StateRunning { // River ends it when its process hears of the cancel
		on := "its process"
		if h, err := jc.Holder(ctx, row.AttemptedBy); err == nil {
			on = h.String()
		}
		_, err = fmt.Fprintf(c.m.Stdout, "job %d (%s): cancel requested; attempt %d of %d is ended by %s, and the job ends cancelled\n",
			row.ID, row.Kind, row.Attempt, row.MaxAttempts, on)
		return err
	}
	_, err = fmt.Fprintf(c.m.Stdout, "job %d (%s): %s, attempt %d of %d\n", row.ID, row.Kind, row.State, row.Attempt, row.MaxAttempts)
	return err
}

// jobsError is what the jobs commands say of a job they cannot act on:
// the domain error's message alone, which names the job and why.
func jobsError(id int64, err error) error {
	var e *kura.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := e.Message
	if e.Code == kura.ENOTFOUND {
		msg = fmt.Sprintf("job %d not found (finished jobs are deleted after KURA_JOB_RETENTION; kura jobs list shows those kept)", id)
	}
	return messageError{msg, e}
}

// messageError shows msg and keeps the domain error in the chain, for its
// code.
type messageError struct {
	msg string
	err *kura.Error
}

func (e messageError) Error() string { return e.msg }
func (e messageError) Unwrap() error { return e.err }
