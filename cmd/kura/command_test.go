package main

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

// commandPaths returns the words of every command, nested ones included:
// ["serve"], ["jobs"], ["jobs", "list"], ...
func commandPaths() [][]string {
	var paths [][]string
	for _, e := range commands() {
		paths = append(paths, []string{e.name})
		if g, ok := e.new(&Main{}).(*group); ok {
			for _, sub := range g.subs {
				paths = append(paths, []string{e.name, sub.name})
			}
		}
	}
	return paths
}

// run runs kura with args and returns its standard output and error
// streams and the exit status the process would have.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errs syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errs, Environ: env}
	code = exitCode(m.Run(context.Background(), args), &errs)
	return out.String(), errs.String(), code
}

// TestHelp: "kura help CMD" and "kura CMD -h" print the command's synopsis,
// its flags and the variables it reads, and exit 0, for every command.
func TestHelp(t *testing.T) {
	for _, path := range commandPaths() {
		name := strings.Join(path, " ")
		help, _, code := run(t, nil, append([]string{"help"}, path...)...)
		if code != 0 || !strings.HasPrefix(help, "Usage: kura "+name) {
			t.Errorf("kura help %s: exit %d, output %q", name, code, help)
		}
		dashH, _, code := run(t, nil, append(path, "-h")...)
		if code != 0 || dashH != help {
			t.Errorf("kura %s -h: exit %d, and its output differs from kura help %s:\n%s", name, code, name, dashH)
		}
		switch c := findCommand(path).(type) {
		case *group:
			for _, sub := range c.subs {
				if !strings.Contains(help, "\t"+sub.name) && !strings.Contains(help, "  "+sub.name+" ") {
					t.Errorf("kura help %s does not list %s:\n%s", name, sub.name, help)
				}
			}
			continue
		case interface{ flags() *flag.FlagSet }:
			c.flags().VisitAll(func(f *flag.Flag) {
				if !strings.Contains(help, "-"+f.Name) {
					t.Errorf("kura help %s does not show the flag -%s", name, f.Name)
				}
			})
		}
		// A command that reads the configuration lists the variables of
		// the database, which all of them read.
		synopsis, _, _ := strings.Cut(help, "\n")
		for _, v := range variables {
			if strings.Contains(synopsis, "--env-file") && v.group&envDB != 0 && !strings.Contains(help, "  "+v.name+" ") {
				t.Errorf("kura help %s does not list %s", name, v.name)
			}
		}
	}

	// Only what the command reads is listed.
	help, _, _ := run(t, nil, "migrate", "up", "-h")
	if strings.Contains(help, "KURA_ADDR") || !strings.Contains(help, "DATABASE_URL") {
		t.Errorf("migrate up -h lists the wrong variables:\n%s", help)
	}
	help, _, _ = run(t, nil, "serve", "-h")
	for _, s := range []string{"-addr", "KURA_ADDR, default 127.0.0.1:8080", "-migrate", "KURA_WORKERS", "REDIS_URL", "KURA_SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(help, s) {
			t.Errorf("serve -h lacks %q:\n%s", s, help)
		}
	}
	if help, _, _ := run(t, nil, "users", "create", "-h"); !strings.Contains(help, passwordEnv) {
		t.Errorf("users create -h does not name %s:\n%s", passwordEnv, help)
	}
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		if out, _, code := run(t, nil, args...); code != 0 || !strings.Contains(out, "Commands:") {
			t.Errorf("kura %v: exit %d\n%s", args, code, out)
		}
	}
}

func findCommand(path []string) Command {
	table, cmd := commands(), Command(nil)
	for _, name := range path {
		e, _ := find(table, name)
		cmd = e.new(&Main{})
		if g, ok := cmd.(*group); ok {
			table = g.subs
		}
	}
	return cmd
}

func TestExitStatus(t *testing.T) {
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"version"}, 0},
		{[]string{"migrate", "up", "-h"}, 0},
		{[]string{"help", "jobs", "list"}, 0},
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"help", "frobnicate"}, 2},
		{[]string{"migrate"}, 2},
		{[]string{"migrate", "sideways"}, 2},
		{[]string{"migrate", "up", "extra"}, 2},
		{[]string{"serve", "--no-such-flag"}, 2},
		{[]string{"serve", "--migrate=perhaps"}, 2},
		{[]string{"worker", "--concurrency", "-1"}, 2},
		{[]string{"jobs", "list", "--limit", "0"}, 2},
		{[]string{"jobs", "retry"}, 2},
		{[]string{"jobs", "--state", "failed", "list"}, 2},
		{[]string{"jobs", "list", "--env-file", "/no/such/kura.env"}, 1},
	} {
		if _, stderr, code := run(t, env, tc.args...); code != tc.code {
			t.Errorf("kura %v: exit %d, want %d\n%s", tc.args, code, tc.code, stderr)
		}
	}
	if _, stderr, code := run(t, append(env, "DB_POOL_SIZE=abc"), "migrate", "status"); code != 1 ||
		!strings.Contains(stderr, `kura: DB_POOL_SIZE: "abc" is not a whole number`) {
		t.Errorf("a bad variable: exit %d\n%s", code, stderr)
	}
	// A usage error shows the synopsis, not the whole help.
	if _, stderr, _ := run(t, env, "jobs", "retry"); !strings.Contains(stderr, "Usage: kura jobs retry ID") || strings.Contains(stderr, "DATABASE_URL") {
		t.Errorf("jobs retry without an ID:\n%s", stderr)
	}
}

// TestReadOnlyCommands_NeverMigrate: jobs list, jobs counts and migrate
// status on a database without kura's tables leave it so, and the jobs
// commands say to run kura migrate up.
func TestReadOnlyCommands_NeverMigrate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL}
		for _, args := range [][]string{{"jobs", "list"}, {"jobs", "counts"}, {"jobs", "retry", "1"}, {"jobs", "cancel", "1"}} {
			_, _, err := runKura(t, env, "", args...)
			if err == nil || !strings.Contains(err.Error(), `run "kura migrate up" first`) || isUsage(err) {
				t.Errorf("%v on an empty database: %v, want advice to run kura migrate up", args, err)
			}
		}
		out, _, err := runKura(t, env, "", "migrate", "status")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) < 3 || strings.Count(out, "pending") != len(lines)-1 {
			t.Fatalf("migrate status, every migration pending: %v\n%s", err, out)
		}
		if _, _, err := runKura(t, env, "", "jobs", "counts"); err == nil {
			t.Fatal("the read-only commands migrated the database")
		}
		if _, _, err := runKura(t, env, "", "migrate", "up"); err != nil {
			t.Fatal(err)
		}
		if out, _, err := runKura(t, env, "", "jobs", "counts"); err != nil || !strings.Contains(out, "STATE") {
			t.Errorf("jobs counts after migrate up: %v\n%s", err, out)
		}
	})
}

// TestFlagsStandForVariables: serve's --addr and --migrate (bare or with a
// value) win over KURA_ADDR and KURA_AUTO_MIGRATE.
func TestFlagsStandForVariables(t *testing.T) {
	for _, tc := range []struct {
		env, args   []string
		addr        string
		autoMigrate bool
	}{
		{[]string{"KURA_ADDR=127.0.0.1:1"}, nil, "127.0.0.1:1", true},
		{[]string{"KURA_ADDR=127.0.0.1:1", "KURA_AUTO_MIGRATE=true"}, []string{"--addr", "127.0.0.1:2", "--migrate=false"}, "127.0.0.1:2", false},
		{[]string{"KURA_AUTO_MIGRATE=false"}, []string{"--migrate"}, "127.0.0.1:8080", true},
	} {
		c := &serveCommand{m: &Main{Environ: tc.env}}
		if err := c.flags().Parse(append([]string{"--env-file="}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(c.cf.source(c.m))
		if err != nil || cfg.Addr != tc.addr || cfg.AutoMigrate != tc.autoMigrate {
			t.Errorf("%v %v: %v, addr %q, migrate %v", tc.env, tc.args, err, cfg.Addr, cfg.AutoMigrate)
		}
	}
}
