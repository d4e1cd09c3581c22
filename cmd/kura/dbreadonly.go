package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

const dbReadOnlyAbout = `Turn read-only mode on or off, or show it. While it is on, every kura serve
and kura worker on the database refuses writes (503 with Retry-After and the
code read_only) and works no jobs; reads go on, and /health stays 200. The
switch is kept in the database (table kura_read_only): every instance reads
it about once a second, and one that starts while it is on starts read-only.`

// dbReadOnlyCommands are the subcommands of kura db read-only.
var dbReadOnlyCommands = []entry{
	{"on", "refuse writes everywhere; return once every live instance has no write under way", func(m *Main) Command { return &dbReadOnlyCommand{m: m, action: "on"} }},
	{"off", "accept writes again", func(m *Main) Command { return &dbReadOnlyCommand{m: m, action: "off"} }},
	{"status", "show the switch and which live instances have applied it", func(m *Main) Command { return &dbReadOnlyCommand{m: m, action: "status"} }},
}

// defaultReadOnlyWait is how long kura db read-only on waits for the
// instances by default: longer than a request's KURA_SHUTDOWN_TIMEOUT-bound
// drain, and than ServingWindow, after which a killed instance stops
// counting.
const defaultReadOnlyWait = time.Minute

var dbReadOnlyDocs = map[string]doc{
	"on": {
		synopsis: "db read-only on [--reason TEXT] [--wait DURATION] [--json] [--env-file FILE]",
		about: `Turn read-only mode on and wait until every live instance (serve and worker
processes seen in kura_instances within the last 30 s) has acknowledged it: it
answers every write 503 read_only, and its writes under way (HTTP requests,
running jobs) have finished. Then no write is accepted anywhere until
"kura db read-only off". When --wait passes first, it names the instances that
did not acknowledge and exits 1; the mode stays on. On a mode that is on
already it waits again. --json prints the state as "status --json" does.`,
		env: envLog | envDB,
	},
	"off": {
		synopsis: "db read-only off [--json] [--env-file FILE]",
		about: `Turn read-only mode off: every instance accepts writes again, and its job
workers start, within about a second. Turning off a mode that is off does
nothing. --json prints the state as "status --json" does.`,
		env: envLog | envDB,
	},
	"status": {
		synopsis: "db read-only status [--json] [--env-file FILE]",
		about: `Show read-only mode: on or off, why, since when, its generation (raised by
every change), and which live instances have applied it and which not yet.
It changes nothing. --json prints {"on", "reason", "since", "generation",
"acknowledged", "waiting"}, each instance as {"id", "hostname", "pid", "addr",
"generation", "seen"}.`,
		env: envLog | envDB,
	},
}

// dbReadOnlyCommand is kura db read-only on, off or status.
type dbReadOnlyCommand struct {
	m      *Main
	cf     configFlags
	action string
	reason string
	wait   time.Duration
	json   bool
}

func (c *dbReadOnlyCommand) flags() *flag.FlagSet {
	fs := newFlagSet("db read-only "+c.action, &c.cf)
	if c.action == "on" {
		fs.StringVar(&c.reason, "reason", "", fmt.Sprintf("why, shown by status and logged by every instance (at most %d characters)", sqldb.MaxReadOnlyReason))
		fs.DurationVar(&c.wait, "wait", defaultReadOnlyWait, "give up waiting for the instances after this `duration` (the mode stays on)")
	}
	fs.BoolVar(&c.json, "json", false, "print the state as JSON")
	return fs
}

func (c *dbReadOnlyCommand) Usage(w io.Writer) { printUsage(w, dbReadOnlyDocs[c.action], c.flags()) }

func (c *dbReadOnlyCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "db read-only "+c.action+" takes no arguments")
	}
	if c.action == "on" && c.wait <= 0 {
		return c.m.usageErr(c, "--wait: want a positive duration, such as 1m")
	}
	a, err := c.m.open(ctx, &c.cf, schemaRequired)
	if err != nil {
		return err
	}
	defer a.Close()
	switch c.action {
	case "on":
		wctx, cancel := context.WithTimeout(ctx, c.wait)
		defer cancel()
		err = a.db.EnterReadOnly(wctx, c.reason)
		var te *sqldb.ReadOnlyTimeoutError
		if errors.As(err, &te) && ctx.Err() == nil {
			err = fmt.Errorf("%w (--wait %s)", err, c.wait)
		}
	case "off":
		err = a.db.LeaveReadOnly(ctx)
	}
	if err != nil {
		return err
	}
	st, err := a.db.ReadOnlyState(ctx)
	if err != nil {
		return err
	}
	return c.print(st)
}

// print writes the state, as JSON with --json.
func (c *dbReadOnlyCommand) print(st sqldb.ReadOnlyState) error {
	if c.json {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "read-only\t%s (generation %d, since %s)\n", onOff(st.On), st.Generation, st.Since.UTC().Format(time.RFC3339))
	if st.Reason != "" {
		fmt.Fprintf(w, "reason\t%s\n", st.Reason)
	}
	fmt.Fprintf(w, "acknowledged\t%s\n", instanceList(st.Acknowledged))
	fmt.Fprintf(w, "waiting\t%s\n", instanceList(st.Waiting))
	return w.Flush()
}

// instanceList names instances, "none" for none.
func instanceList(l []sqldb.InstanceAck) string {
	if len(l) == 0 {
		return "none"
	}
	names := make([]string, len(l))
	for i, in := range l {
		names[i] = in.String()
	}
	return strings.Join(names, "; ")
}
