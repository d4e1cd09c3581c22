package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

// migrate applies (up), reverts one (down) or lists (status) migrations.
func (m *Main) migrate(ctx context.Context, args []string) error {
	fs, envFile := m.newFlagSet("migrate", "migrate up|down|status [flags]\n\n  up      apply every pending migration\n  down    revert the newest applied migration\n  status  list migrations and whether each is applied")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{"migrate needs exactly one of up, down, status"}
	}
	action := fs.Arg(0)
	if action != "up" && action != "down" && action != "status" {
		fs.Usage()
		return usageError{fmt.Sprintf("unknown migrate action %q", action)}
	}
	db, err := m.loadAndOpen(ctx, *envFile, false)
	if err != nil {
		return err
	}
	defer db.Close()

	switch action {
	case "up":
		return db.MigrateUp(ctx, schemas...)
	case "down":
		return db.MigrateDown(ctx, schemas...)
	}
	list, err := db.MigrationStatus(ctx, schemas...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
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
