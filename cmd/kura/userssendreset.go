package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/store"
)

// usersSendResetCommand queues a password-reset link for a user, as the
// operator: the account flow's own link, mailed by a running kura serve or
// kura worker.
type usersSendResetCommand struct {
	m    *Main
	cf   configFlags
	json bool
}

var usersSendResetDoc = doc{
	synopsis: "users send-reset USER [--json] [--env-file FILE]",
	about: `Queue a password-reset link for USER (an id, an email or a user name): the
link of POST /api/auth/password-reset, mailed to the account's address by a
running kura serve or kura worker, valid and limited as that one (see
docs/SECURITY.md, "Links by mail"). The operator never sees the link. Needs
the account flows (KURA_PUBLIC_URL and mail); refused, exit 1, without
them, for an unknown user and for a disabled account. Written to the audit
log as done by "operator:<OS user>". --json prints {"id", "email", "queued"}.`,
	env: envLog | envDB | envMigrator | envMail,
}

func (c *usersSendResetCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users send-reset", &c.cf)
	fs.BoolVar(&c.json, "json", false, "print the outcome as JSON")
	return fs
}

func (c *usersSendResetCommand) Usage(w io.Writer) { printUsage(w, usersSendResetDoc, c.flags()) }

func (c *usersSendResetCommand) Run(ctx context.Context, args []string) error {
	target, err := c.m.parseWithArg(c, c.flags(), args)
	if err != nil {
		return err
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.refuseReadOnly(ctx, "kura users send-reset"); err != nil {
		return err
	}
	id, err := findUserArg(ctx, a, target)
	if err != nil {
		return err
	}
	users := store.NewUsers(a.db)
	u, err := users.FindUserByID(ctx, id)
	if err != nil {
		return userFacing(err)
	}
	if u.Disabled {
		return fmt.Errorf("user %d (%s) is disabled: a disabled account gets no reset link; kura users enable it first", u.ID, u.Username)
	}
	jc, err := jobs.New(a.db, a.cfg.Jobs(0, a.log))
	if err != nil {
		return err
	}
	flows, err := app.AccountFlows(a.cfg, a.db, jc, a.log)
	if err != nil {
		return err
	}
	if err := flows.RequestPasswordReset(ctx, u.Email); err != nil {
		return userFacing(err)
	}
	if err := users.RecordAudit(ctx, operator(), kura.AuditSendReset, u.ID, map[string]any{}); err != nil {
		return fmt.Errorf("the link is queued, but the audit log was not written: %w", err)
	}
	if c.json {
		return writeJSONTo(c.m.Stdout, map[string]any{"id": u.ID, "email": u.Email, "queued": true})
	}
	_, err = fmt.Fprintf(c.m.Stdout, "a password-reset link for user %d (%s) is queued: a running kura serve or kura worker mails it to %s\n", u.ID, u.Username, u.Email)
	return err
}
