package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/store"
)

// pageFlags are the keyset paging flags of the list commands.
type pageFlags struct {
	limit  int
	cursor string
	json   bool
}

func (p *pageFlags) register(fs *flag.FlagSet, what string) {
	fs.IntVar(&p.limit, "limit", kura.DefaultPageSize, "how many "+what+" to show, 1 to 100")
	fs.StringVar(&p.cursor, "cursor", "", "continue after the page that printed this next cursor")
	fs.BoolVar(&p.json, "json", false, "print the page as JSON")
}

func (p *pageFlags) options() kura.ListOptions {
	return kura.ListOptions{Limit: p.limit, Cursor: p.cursor}
}

// listOutput is a page as the list commands print it in JSON.
type listOutput[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// usersListCommand lists the users, newest first.
type usersListCommand struct {
	m  *Main
	cf configFlags
	p  pageFlags
}

var usersListDoc = doc{
	synopsis: "users list [--limit N] [--cursor C] [--json] [--env-file FILE]",
	about: `List the users newest first: id, user name, email, role, status (active or
disabled) and when each was made; a next page's cursor follows when there is
one. --json prints {"items": [{"id", "email", "username", "role", "disabled",
"created_at"}], "next_cursor"}.`,
	env: envLog | envDB | envMigrator,
}

func (c *usersListCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users list", &c.cf)
	c.p.register(fs, "users")
	return fs
}

func (c *usersListCommand) Usage(w io.Writer) { printUsage(w, usersListDoc, c.flags()) }

func (c *usersListCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "users list takes no arguments")
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	page, err := store.NewUsers(a.db).ListUsers(ctx, c.p.options())
	if err != nil {
		return userFacing(err)
	}
	if c.p.json {
		out := listOutput[userOutput]{Items: make([]userOutput, 0, len(page.Items)), NextCursor: page.NextCursor}
		for _, u := range page.Items {
			out.Items = append(out.Items, userOut(u))
		}
		return writeJSONTo(c.m.Stdout, out)
	}
	tw := newTable(c.m.Stdout)
	fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tROLE\tSTATUS\tCREATED")
	for _, u := range page.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Email, u.Role, status(u), u.CreatedAt.UTC().Format(time.RFC3339))
	}
	return finishPage(tw, c.m.Stdout, page.NextCursor)
}

// finishPage flushes a table and names the next page's cursor.
func finishPage(tw interface{ Flush() error }, w io.Writer, next string) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		_, err := fmt.Fprintf(w, "next page: --cursor %s\n", next)
		return err
	}
	return nil
}

// usersAuditCommand prints the audit log, newest first.
type usersAuditCommand struct {
	m  *Main
	cf configFlags
	p  pageFlags
}

var usersAuditDoc = doc{
	synopsis: "users audit [--limit N] [--cursor C] [--json] [--env-file FILE]",
	about: `Print the audit log newest first: every role change, disable, enable, deletion
by an admin and end of a user's sessions by an admin, by the API or by these
commands: when, who (an admin's user name and id, or operator:<OS user>),
the action, the user acted on and a small JSON detail (never a secret).
--json prints {"items": [{"id", "at", "actor_id", "actor", "action",
"target_id", "detail"}], "next_cursor"}.`,
	env: envLog | envDB | envMigrator,
}

func (c *usersAuditCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users audit", &c.cf)
	c.p.register(fs, "entries")
	return fs
}

func (c *usersAuditCommand) Usage(w io.Writer) { printUsage(w, usersAuditDoc, c.flags()) }

// auditOutput is an audit entry as kura users audit prints it in JSON.
type auditOutput struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	ActorID  *int64          `json:"actor_id"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	TargetID *int64          `json:"target_id"`
	Detail   json.RawMessage `json:"detail"`
}

func auditOut(e *kura.AuditEntry) auditOutput {
	o := auditOutput{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Detail: json.RawMessage(e.Detail)}
	if e.ActorID != 0 {
		o.ActorID = &e.ActorID
	}
	if e.TargetID != 0 {
		o.TargetID = &e.TargetID
	}
	return o
}

func (c *usersAuditCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "users audit takes no arguments")
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	page, err := store.NewUsers(a.db).ListAudit(ctx, c.p.options())
	if err != nil {
		return userFacing(err)
	}
	if c.p.json {
		out := listOutput[auditOutput]{Items: make([]auditOutput, 0, len(page.Items)), NextCursor: page.NextCursor}
		for _, e := range page.Items {
			out.Items = append(out.Items, auditOut(e))
		}
		return writeJSONTo(c.m.Stdout, out)
	}
	tw := newTable(c.m.Stdout)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tUSER\tDETAIL")
	for _, e := range page.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", e.ID, e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.TargetID, e.Detail)
	}
	return finishPage(tw, c.m.Stdout, page.NextCursor)
}
