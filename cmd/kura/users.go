package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
)

// passwordEnv names the variable users create reads a password from when
// set, for scripts; otherwise the password is read from standard input. A
// password is never a flag: flags show in the process list and shell history.
const passwordEnv = "KURA_USER_PASSWORD"

const usersAbout = `Create an account (the first admin, say), or seed many for benchmarks; list
the users, promote, demote, disable and enable one, and read the audit log of
such actions. Each applies pending migrations first. Accounts made here get
no welcome notification.`

// usersCommands are the subcommands of kura users.
var usersCommands = []entry{
	{"create", "create an account; the password comes from standard input or " + passwordEnv, func(m *Main) Command { return &usersCreateCommand{m: m} }},
	{"seed", "insert many users quickly, for benchmarks", func(m *Main) Command { return &usersSeedCommand{m: m} }},
	{"list", "list the users, newest first", func(m *Main) Command { return &usersListCommand{m: m} }},
	{"promote", usersChanges[0].about, func(m *Main) Command { return &usersChangeCommand{m: m, what: usersChanges[0]} }},
	{"demote", usersChanges[1].about, func(m *Main) Command { return &usersChangeCommand{m: m, what: usersChanges[1]} }},
	{"disable", usersChanges[2].about, func(m *Main) Command { return &usersChangeCommand{m: m, what: usersChanges[2]} }},
	{"enable", usersChanges[3].about, func(m *Main) Command { return &usersChangeCommand{m: m, what: usersChanges[3]} }},
	{"audit", "print the audit log of administrative actions, newest first", func(m *Main) Command { return &usersAuditCommand{m: m} }},
	{"send-reset", "queue a password-reset link for a user, mailed by a running serve or worker", func(m *Main) Command { return &usersSendResetCommand{m: m} }},
}

// usersCreateCommand creates an account.
type usersCreateCommand struct {
	m               *Main
	cf              configFlags
	email, username string
	admin           bool
}

var usersCreateDoc = doc{
	synopsis: "users create --email ADDRESS --username NAME [--admin] [--env-file FILE]",
	about: `Create an account. The password is read from ` + passwordEnv + ` when set, else
from standard input (prompted for, without echo, on a terminal); never from a
flag, which would show in the process list and the shell's history.`,
	env: envLog | envDB | envMigrator | envPassword,
}

func (c *usersCreateCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users create", &c.cf)
	fs.StringVar(&c.email, "email", "", "the account's email `address` (required)")
	fs.StringVar(&c.username, "username", "", "the account's user `name` (required)")
	fs.BoolVar(&c.admin, "admin", false, "make the account an admin")
	return fs
}

func (c *usersCreateCommand) Usage(w io.Writer) { printUsage(w, usersCreateDoc, c.flags()) }

func (c *usersCreateCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if c.email == "" || c.username == "" || fs.NArg() > 0 {
		return c.m.usageErr(c, "users create needs --email and --username and no other arguments")
	}
	pw, err := c.m.readPassword()
	if err != nil {
		return err
	}
	role := kura.RoleUser
	if c.admin {
		role = kura.RoleAdmin
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.refuseReadOnly(ctx, "kura users create"); err != nil {
		return err
	}
	u, err := accounts.NewUserService(a.db).CreateUser(ctx, kura.NewUser{Email: c.email, Username: c.username, Password: pw, Role: role})
	if err != nil {
		return userFacing(err)
	}
	_, err = fmt.Fprintf(c.m.Stdout, "created user %d (%s, %s)\n", u.ID, u.Username, u.Role)
	return err
}

// readPassword returns the password from passwordEnv or standard input.
func (m *Main) readPassword() (string, error) {
	for _, kv := range m.environ() {
		if v, ok := strings.CutPrefix(kv, passwordEnv+"="); ok && v != "" {
			return v, nil
		}
	}
	if f, ok := m.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(m.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(m.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(m.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{"no password: give it on standard input or in " + passwordEnv}
	}
	return line, nil
}

// userFacing turns a domain error into a message for the terminal, with the
// per-field details.
func userFacing(err error) error {
	var e *kura.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	parts := make([]string, 0, len(e.Fields))
	for f, msg := range e.Fields {
		parts = append(parts, f+" "+msg)
	}
	return fmt.Errorf("%s: %s", strings.TrimSuffix(e.Message, "."), strings.Join(parts, "; "))
}

// usersSeedCommand inserts many users quickly, for benchmarks.
type usersSeedCommand struct {
	m     *Main
	cf    configFlags
	count int
	json  bool
}

var usersSeedDoc = doc{
	synopsis: "users seed --count N [--json] [--env-file FILE]",
	about: `Add N users to the database of DATABASE_URL quickly, in batches, for
benchmarks and demos. Their emails are seed-RUN-I@example.com and their
usernames sRUN_I (RUN is random, so a second run adds more), and they all
share one password that anyone who reads kura's source knows
(` + accounts.SeedPassword + `): never seed a database that people use.

Before it writes anything it says on standard error how many users it adds
to which database (engine, server address and database, or the SQLite
file; never a password). It applies pending migrations first, shows its
progress when standard error is a terminal, and prints what it did:
--json as {"users", "seconds", "per_second", "database": {"engine",
"address", "database"}}. Accounts made here get no welcome notification.`,
	env: envLog | envDB | envMigrator,
}

func (c *usersSeedCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users seed", &c.cf)
	fs.IntVar(&c.count, "count", 0, "how many users to add (required)")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	return fs
}

func (c *usersSeedCommand) Usage(w io.Writer) { printUsage(w, usersSeedDoc, c.flags()) }

func (c *usersSeedCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if c.count < 1 || fs.NArg() > 0 {
		return c.m.usageErr(c, "users seed needs --count N, the number of users to add (at least 1), and no other arguments")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	target, err := backup.SourceOf(cfg.URL())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stderr, "kura: users seed: adding %d users (seed-…@example.com, all with the password %q from kura's source) to %s\n",
		c.count, accounts.SeedPassword, target.Where())
	a, err := c.m.openConfig(ctx, cfg, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.refuseReadOnly(ctx, "kura users seed"); err != nil {
		return err
	}
	start := time.Now()
	bars := newProgressBars(c.m.Stderr)
	err = accounts.NewUserService(a.db).SeedUsers(ctx, c.count, func(done int) { bars.update("seeding users", "users", int64(done), int64(c.count)) })
	bars.finish()
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	took := time.Since(start)
	if c.json {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"users": c.count, "seconds": took.Seconds(), "per_second": float64(c.count) / took.Seconds(),
			"database": map[string]string{"engine": target.Engine, "address": target.Address, "database": target.Database}})
	}
	_, err = fmt.Fprintf(c.m.Stdout, "seeded %d users into %s in %s (%.0f/s)\n", c.count, target.Where(), took.Round(time.Millisecond), float64(c.count)/took.Seconds())
	return err
}
