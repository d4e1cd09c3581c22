// Command kura serves the kura users API, works its background jobs and
// runs its operator tasks: migrations, jobs, user accounts and seeding.
//
//	kura serve                 serve the API and work jobs (migrations applied first)
//	kura worker                work background jobs only
//	kura jobs list|counts|retry|cancel
//	kura migrate up|down|status
//	kura users create|seed
//	kura version
//
// Configuration comes from flags, then the environment, then a .env file in
// the working directory; see the README for every variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kura-dev/kura"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	err := m.Run(ctx, os.Args[1:])
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "kura:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "kura:", err)
		os.Exit(1)
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
}

// usageError is a mistake in the command line, reported with exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Run runs the command named by args[0] with the rest of args. It returns
// when the command is done, or, for serve, after ctx is cancelled and the
// server has shut down.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return m.serve(ctx, rest)
	case "migrate":
		return m.migrate(ctx, rest)
	case "users":
		return m.users(ctx, rest)
	case "worker":
		return m.worker(ctx, rest)
	case "jobs":
		return m.jobsCmd(ctx, rest)
	case "version":
		return m.version(rest)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	}
	fmt.Fprint(m.Stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

const usage = `kura is the data backbone of a small web application.

Usage:

	kura <command> [arguments]

Commands:

	serve      serve the users API and work background jobs (applies migrations first)
	worker     work background jobs without serving the API
	jobs       list, count, retry or cancel background jobs
	migrate    apply, revert or list database migrations
	users      create an account, or seed many for benchmarks
	version    print the version

Run "kura <command> -h" for a command's flags. Configuration comes from
flags, then the environment, then a .env file; see the README.
`

func (m *Main) environ() []string {
	if m.Environ != nil {
		return m.Environ
	}
	return os.Environ()
}

// newFlagSet returns a flag set for a subcommand whose -h prints usage and
// its flags to Stdout, and which carries the --env-file flag every command
// shares.
func (m *Main) newFlagSet(name, synopsis string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("kura "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	envFile := fs.String("env-file", ".env", "read configuration from this `file` after the environment (missing is fine)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: kura %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs, envFile
}

// parseFlags parses args, printing help to Stdout for -h.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(m.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return err
	} else if err != nil {
		fs.Usage()
		return usageError{err.Error()}
	}
	return nil
}

// flagWasSet reports whether the flag was given on the command line.
func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
