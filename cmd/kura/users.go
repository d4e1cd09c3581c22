package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// passwordEnv names the variable users create reads a password from when
// set, for scripts; otherwise the password is read from standard input. A
// password is never a flag: flags show in the process list and shell history.
const passwordEnv = "KURA_USER_PASSWORD"

func (m *Main) users(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "create":
			return m.usersCreate(ctx, args[1:])
		case "seed":
			return m.usersSeed(ctx, args[1:])
		case "-h", "-help", "--help":
			fmt.Fprint(m.Stdout, usersUsage)
			return nil
		}
	}
	fmt.Fprint(m.Stderr, usersUsage)
	return usageError{"users needs a subcommand: create or seed"}
}

const usersUsage = `Usage: kura users <create|seed> [flags]

	create   create an account; the password is read from standard input
	         (or ` + passwordEnv + `), never from a flag
	seed     insert many users quickly, for benchmarks
`

func (m *Main) usersCreate(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("users create", "users create --email ADDRESS --username NAME [--admin]\n\nThe password is read from "+passwordEnv+" when set, else from standard input\n(prompted for, without echo, on a terminal).")
	email := fs.String("email", "", "the account's email `address` (required)")
	username := fs.String("username", "", "the account's user `name` (required)")
	admin := fs.Bool("admin", false, "make the account an admin")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *email == "" || *username == "" || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"users create needs --email and --username and no other arguments"}
	}
	pw, err := m.readPassword()
	if err != nil {
		return err
	}
	role := kura.RoleUser
	if *admin {
		role = kura.RoleAdmin
	}
	db, err := m.loadAndOpen(ctx, *envFile, true)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := sqldb.NewUserService(db).CreateUser(ctx, kura.NewUser{Email: *email, Username: *username, Password: pw, Role: role})
	if err != nil {
		return userFacing(err)
	}
	_, err = fmt.Fprintf(m.Stdout, "created user %d (%s, %s)\n", u.ID, u.Username, u.Role)
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

func (m *Main) usersSeed(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("users seed", "users seed --count N")
	count := fs.Int("count", 1000, "how many users to insert")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if *count < 1 || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"users seed needs --count of at least 1"}
	}
	db, err := m.loadAndOpen(ctx, *envFile, true)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	progress := func(int) {}
	if f, ok := m.Stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = func(done int) { fmt.Fprintf(m.Stderr, "\rseeded %d/%d users", done, *count) }
		defer fmt.Fprintln(m.Stderr)
	}
	if err := sqldb.NewUserService(db).SeedUsers(ctx, *count, progress); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	took := time.Since(start)
	_, err = fmt.Fprintf(m.Stdout, "seeded %d users in %s (%.0f/s)\n", *count, took.Round(time.Millisecond), float64(*count)/took.Seconds())
	return err
}
