package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

const migrateAbout = `Apply, revert or list the database's migrations: kura's tables, then the job
queue's. serve, worker and the users commands apply pending migrations too
(serve and worker unless KURA_AUTO_MIGRATE=false); migrate status and the jobs
commands never change the schema.`

// migrateCommands are the subcommands of kura migrate.
var migrateCommands = []entry{
	{"up", "apply every pending migration", func(m *Main) Command { return &migrateCommand{m: m, action: "up"} }},
	{"down", "revert the newest applied migration", func(m *Main) Command { return &migrateCommand{m: m, action: "down"} }},
	{"status", "list migrations and whether each is applied", func(m *Main) Command { return &migrateCommand{m: m, action: "status"} }},
}

// migrateCommand applies (up), reverts one (down) or lists (status)
// migrations.
type migrateCommand struct {
	m      *Main
	cf     configFlags
	action string
}

var migrateAbouts = map[string]string{
	"up":     "Apply every pending migration, kura's tables first, then the job queue's.",
	"down":   "Revert the newest applied migration (the job queue's before kura's).",
	"status": "List every migration and when it was applied, or that it is pending. It\nchanges no table of the application.",
}

func (c *migrateCommand) flags() *flag.FlagSet { return newFlagSet("migrate "+c.action, &c.cf) }

func (c *migrateCommand) Usage(w io.Writer) {
	printUsage(w, doc{synopsis: "migrate " + c.action + " [--env-file FILE]", about: migrateAbouts[c.action], env: envLog | envDB | envMigrator}, c.flags())
}

func (c *migrateCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "migrate "+c.action+" takes no arguments")
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrator)
	if err != nil {
		return err
	}
	defer a.Close()
	switch c.action {
	case "up":
		return a.db.MigrateUp(ctx, schemas...)
	case "down":
		return a.db.MigrateDown(ctx, schemas...)
	}
	list, err := a.db.MigrationStatus(ctx, schemas...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SET\tVERSION\tNAME\tAPPLIED")
	for _, s := range list {
		applied := "pending"
		if s.Applied {
			applied = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", s.Set, s.Version, s.Name, applied)
	}
	return w.Flush()
}
