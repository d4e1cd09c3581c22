package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kura-dev/kura/backup"
)

// dbIdentityCommand prints the identity of the database backups are taken
// of, as a backup's manifest records its source.
type dbIdentityCommand struct {
	m    *Main
	cf   configFlags
	json bool
}

var dbIdentityDoc = doc{
	synopsis: "db identity [--json] [--env-file FILE]",
	about: `Print the identity of the database backups are taken of (KURA_MIGRATE_DATABASE_URL's,
else DATABASE_URL's): the random id kura's migration 7 stores in it (table
kura_database), its engine, its server's address and its name; never its URL,
user or password. A backup's manifest records the same as its "source" (kura
backup create --json, kura backup list --json): a script compares the two to
know that a backup is of the database it is about to change.

--json prints {"id", "engine", "address", "database"}; "id" is "" for a
database without an identity yet (migrated before kura recorded one: the next
kura migrate up makes it). It changes nothing.`,
	env: envLog | envDB | envMigrator,
}

func (c *dbIdentityCommand) flags() *flag.FlagSet {
	fs := newFlagSet("db identity", &c.cf)
	fs.BoolVar(&c.json, "json", false, "print the identity as JSON")
	return fs
}

func (c *dbIdentityCommand) Usage(w io.Writer) { printUsage(w, dbIdentityDoc, c.flags()) }

func (c *dbIdentityCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "db identity takes no arguments")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	src, err := backup.Identify(ctx, cfg.Backup(cfg.Logger(c.m.Stderr)))
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(src)
	}
	id := src.ID
	if id == "" {
		id = "none yet (kura migrate up makes one)"
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "id\t%s\nengine\t%s\naddress\t%s\ndatabase\t%s\n", id, src.Engine, src.Address, src.Database)
	return w.Flush()
}
