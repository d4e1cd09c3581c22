package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// A Command is one of kura's commands. It owns its flags, says how it is
// used, and runs. Adding a command is a file with its type and one line in
// commands (or in its group's table, such as jobsCommands).
type Command interface {
	// Usage writes the command's synopsis, what it does, its flags and the
	// environment variables it reads.
	Usage(w io.Writer)
	// Run runs the command with the arguments that follow its name. A
	// mistake in them is a usageError; -h prints the usage to Main's
	// Stdout and returns flag.ErrHelp.
	Run(ctx context.Context, args []string) error
}

// entry is a line of a table of commands.
type entry struct {
	name    string
	summary string // one line, for the list of commands
	new     func(m *Main) Command
}

// commands is kura's table of commands, in the order the help lists them.
func commands() []entry {
	return []entry{
		{"serve", "serve the users API and work background jobs (applies migrations first)", func(m *Main) Command { return &serveCommand{m: m} }},
		{"worker", "work background jobs without serving the API", func(m *Main) Command { return &workerCommand{m: m} }},
		{"jobs", "list, count, retry or cancel background jobs", newGroup("jobs", jobsAbout, jobsCommands)},
		{"migrate", "apply, revert or list database migrations", newGroup("migrate", migrateAbout, migrateCommands)},
		{"users", "create, list, promote, demote, disable and enable accounts; the audit log", newGroup("users", usersAbout, usersCommands)},
		{"backup", "take, list, verify, restore and prune online backups", newGroup("backup", backupAbout, backupCommands)},
		{"data", "move the data to another engine, verified and resumable, with a write freeze of seconds", newGroup("data", dataAbout, dataCommands)},
		{"db", "print or apply the SQL of least-privilege database roles; print the database's identity; read-only mode", newGroup("db", dbAbout, dbCommands)},
		{"maintain", "maintain the database while it serves; report unused indexes and the connection budget", func(m *Main) Command { return &maintainCommand{m: m} }},
		{"doctor", "audit the security checklist against the configuration and database", func(m *Main) Command { return &doctorCommand{m: m} }},
		{"healthcheck", "exit 0 if the server at KURA_ADDR is healthy (for Docker's HEALTHCHECK)", func(m *Main) Command { return &healthcheckCommand{m: m} }},
		{"version", "print the version, commit and build date", func(m *Main) Command { return &versionCommand{m: m} }},
		{"help", "print a command's synopsis, flags and environment variables", func(m *Main) Command { return &helpCommand{m: m} }},
	}
}

// find returns the entry of table called name.
func find(table []entry, name string) (entry, bool) {
	for _, e := range table {
		if e.name == name {
			return e, true
		}
	}
	return entry{}, false
}

// doc is what a command's help says besides its flags.
type doc struct {
	synopsis string   // after "kura ", such as "jobs list [flags]"
	about    string   // what it does, a few lines
	env      envGroup // the variables it reads
}

// printUsage writes a command's help: synopsis, about, flags, variables.
func printUsage(w io.Writer, d doc, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: kura %s\n\n%s\n", d.synopsis, strings.TrimSpace(d.about))
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if d.env == 0 {
		return
	}
	fmt.Fprintf(w, "\nEnvironment (a flag wins over it, and it over the .env file):\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	for _, v := range variables {
		if v.group&d.env != 0 {
			def := v.defaultText()
			if def == "" {
				def = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.name, def, v.about)
		}
	}
	tw.Flush()
}

// parseFlags parses args into fs, the flags of cmd. On -h it writes cmd's
// usage to Stdout and returns flag.ErrHelp; on a mistake it writes the
// mistake and the usage to Stderr and returns a usageError.
func (m *Main) parseFlags(cmd Command, fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		cmd.Usage(m.Stdout)
		return err
	}
	if err != nil {
		return m.usageErr(cmd, err.Error())
	}
	return nil
}

// usageErr writes cmd's synopsis to Stderr and returns msg as a
// usageError.
func (m *Main) usageErr(cmd Command, msg string) error {
	var b strings.Builder
	cmd.Usage(&b)
	synopsis, _, _ := strings.Cut(b.String(), "\n")
	fmt.Fprintf(m.Stderr, "%s\n(-h for its flags and the environment variables it reads)\n", synopsis)
	return usageError{msg}
}

// newFlagSet returns the flag set of the command called name, with the
// flags of cf if it reads the configuration.
func newFlagSet(name string, cf *configFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("kura "+name, flag.ContinueOnError)
	if cf != nil {
		cf.register(fs)
	}
	return fs
}

// configFlags are the flags of a command that reads the configuration:
// --env-file, and the flags that stand for a variable (serve's --addr is
// KURA_ADDR), whose values win over the environment.
type configFlags struct {
	envFile    string
	envFileSet bool // named on the command line, so it must exist
	set        []flagSetting
}

func (c *configFlags) register(fs *flag.FlagSet) {
	c.envFile = ".env"
	fs.Func("env-file", "read configuration from this `file` after the environment (default .env, which may be missing)", func(s string) error {
		c.envFile, c.envFileSet = s, true
		return nil
	})
}

// bind adds --flag to fs, standing for the variable called name.
func (c *configFlags) bind(fs *flag.FlagSet, flagName, name, usage string) {
	v, ok := lookupVariable(name)
	if !ok {
		panic("kura: no variable " + name)
	}
	fs.Var(&boundFlag{c: c, flag: flagName, v: v}, flagName, fmt.Sprintf("%s (%s, default %s)", usage, name, v.defaultText()))
}

// source returns where the configuration comes from for a Main.
func (c *configFlags) source(m *Main) configSource {
	return configSource{envFile: c.envFile, envFileRequired: c.envFileSet, environ: m.environ(), flags: c.set}
}

// boundFlag is a flag that stands for a variable.
type boundFlag struct {
	c    *configFlags
	flag string
	v    variable
	val  string
}

func (b *boundFlag) String() string { return b.val }

func (b *boundFlag) Set(s string) error {
	b.val = s
	b.c.set = append(b.c.set, flagSetting{flag: b.flag, name: b.v.name, value: s})
	return nil
}

func (b *boundFlag) IsBoolFlag() bool { return b.v.isBool() }

// group is a command made of subcommands, such as jobs or migrate.
type group struct {
	m     *Main
	name  string
	about string
	subs  []entry
}

// newGroup returns the constructor of a group command.
func newGroup(name, about string, subs []entry) func(*Main) Command {
	return func(m *Main) Command { return &group{m: m, name: name, about: about, subs: subs} }
}

func (g *group) Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: kura %s <command> [flags]\n\n%s\n\nCommands:\n\n", g.name, strings.TrimSpace(g.about))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range g.subs {
		fmt.Fprintf(tw, "\t%s\t%s\n", e.name, e.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRun \"kura help %s <command>\" or \"kura %s <command> -h\" for a command's\nflags and the environment variables it reads.\n", g.name, g.name)
}

// Run runs the subcommand named by the first argument that is not a flag.
// The configuration flags (--env-file) may come before it, as in
// "kura migrate --env-file prod.env status".
func (g *group) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(g.name, &configFlags{})
	if err := g.m.parseFlags(g, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return g.m.usageErr(g, fmt.Sprintf("%s needs a command", g.name))
	}
	leading := args[:len(args)-fs.NArg()]
	name, rest := fs.Arg(0), fs.Args()[1:]
	e, ok := find(g.subs, name)
	if !ok {
		return g.m.usageErr(g, fmt.Sprintf("unknown %s command %q", g.name, name))
	}
	return e.new(g.m).Run(ctx, append(append([]string{}, leading...), rest...))
}

// helpCommand prints the help of kura or of a command.
type helpCommand struct{ m *Main }

func (c *helpCommand) Usage(w io.Writer) {
	fmt.Fprint(w, "Usage: kura help [command [subcommand]]\n\nPrint a command's synopsis, flags and the environment variables it reads;\nwithout a command, the list of commands.\n")
}

func (c *helpCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("help", nil)
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprint(c.m.Stdout, usage())
		return nil
	}
	table, cmd := commands(), Command(nil)
	for i, name := range fs.Args() {
		e, ok := find(table, name)
		if !ok {
			return c.m.usageErr(c, fmt.Sprintf("no command %q", strings.Join(fs.Args()[:i+1], " ")))
		}
		cmd = e.new(c.m)
		if g, ok := cmd.(*group); ok {
			table = g.subs
		} else {
			table = nil
		}
	}
	cmd.Usage(c.m.Stdout)
	return nil
}
