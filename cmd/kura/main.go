// Command kura serves the kura users API, works its background jobs and
// runs its operator tasks: migrations, jobs, user accounts and seeding.
//
//	kura serve                 serve the API and work jobs (migrations applied first)
//	kura worker                work background jobs only
//	kura jobs list|counts|retry|cancel
//	kura migrate up|down|status
//	kura db roles|identity     least-privilege database roles; the database's identity
//	kura maintain              maintain the database; unused indexes, connection budget
//	kura doctor                audit the security checklist
//	kura users create|seed
//	kura healthcheck           exit 0 if the local server answers /health with 200
//	kura version
//	kura help [command]        a command's flags and the variables it reads
//
// Each command is a type (see Command) that owns its flags and usage; the
// table in commands names them. Configuration comes from flags, then the
// environment, then a .env file in the working directory; see the README
// for every variable. The exit status is 0 on success and for help, 2 for
// a mistake in the command line and 1 for any other failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), app.Signals...)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, app.Signals...)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, signals: signals}
	code := exitCode(m.Run(ctx, os.Args[1:]), os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode returns the process's exit status for err, the error Run
// returned, and writes err to w unless it is a request for help.
func exitCode(err error, w io.Writer) int {
	var status exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &status): // doctor's findings
		fmt.Fprintln(w, "kura:", err)
		return status.code
	case errors.As(err, new(usageError)):
		fmt.Fprintln(w, "kura:", err)
		return 2
	default:
		fmt.Fprintln(w, "kura:", err)
		return 1
	}
}

// Main is the kura program, separated from the process so tests can run it
// whole: its streams, environment and signals are fields.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer // logs go here

	// Environ holds KEY=VALUE pairs; nil means the process environment.
	Environ []string

	// Listening, if set, is called by serve with the API's base URL once it
	// accepts connections.
	Listening func(url string)

	// Notifier, if set, wraps the built-in notifier (which stores each
	// notification and logs it) of the job workers: a sender that emails
	// or posts a webhook and then calls next, say.
	Notifier func(next kura.Notifier) kura.Notifier

	// signals receives the process's SIGINT and SIGTERM, if set: a second
	// one cuts serve's drain delay short.
	signals <-chan os.Signal

	// isTerminal, if set, replaces the check of whether a stream is a
	// terminal (where serve prints its banner): for tests.
	isTerminal func(io.Writer) bool
}

// usageError is a mistake in the command line, reported with exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs the command named by args[0] with the rest of args. It returns
// when the command is done, or, for serve and worker, after ctx is
// cancelled and the process has shut down.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage())
		return usageError{"no command given"}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(m.Stdout, usage())
		return nil
	}
	e, ok := find(commands(), args[0])
	if !ok {
		fmt.Fprint(m.Stderr, usage())
		return usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	return e.new(m).Run(ctx, args[1:])
}

// usage is kura's own help: the list of commands.
func usage() string {
	var b strings.Builder
	b.WriteString("kura is the data backbone of a small web application.\n\nUsage:\n\n\tkura <command> [arguments]\n\nCommands:\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, e := range commands() {
		fmt.Fprintf(tw, "\t%s\t%s\n", e.name, e.summary)
	}
	tw.Flush()
	b.WriteString(`
Run "kura help <command>" or "kura <command> -h" for a command's flags and
the environment variables it reads. Configuration comes from flags, then the
environment, then a .env file; see the README.
`)
	return b.String()
}

func (m *Main) environ() []string {
	if m.Environ != nil {
		return m.Environ
	}
	return os.Environ()
}
