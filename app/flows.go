package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// validateFlows checks KURA_PUBLIC_URL and KURA_REQUIRE_VERIFIED_EMAIL: the
// flows need mail, and an unverified account could never log in without
// them.
func (c *Config) validateFlows() []fieldError {
	var errs []fieldError
	if c.PublicURL != "" {
		if err := accounts.ValidatePublicURL(c.PublicURL); err != nil {
			errs = append(errs, fieldError{"KURA_PUBLIC_URL", err.Error()})
		} else if c.mailTransport() == "" {
			errs = append(errs, fieldError{"KURA_PUBLIC_URL", "the account flows send links by mail: set KURA_SMTP_URL or KURA_MAIL_TRANSPORT too, or leave KURA_PUBLIC_URL empty"})
		}
	}
	if c.RequireVerifiedEmail && c.PublicURL == "" {
		errs = append(errs, fieldError{"KURA_REQUIRE_VERIFIED_EMAIL", "needs the account flows (KURA_PUBLIC_URL and mail), or no account could verify its address"})
	}
	return errs
}

// newFlows makes the account flows when mail and KURA_PUBLIC_URL are set;
// newMailer has run.
func (a *App) newFlows() error {
	if a.mailer == nil || a.cfg.PublicURL == "" {
		return nil
	}
	f, err := accounts.NewFlows(a.db, accounts.FlowsConfig{
		Mailer: a.mailer, Templates: a.templates, PublicURL: a.cfg.PublicURL, Logger: a.log,
	})
	if err != nil {
		return err
	}
	a.flows = f
	return nil
}

// addFlowsWorker registers the flows' worker with ws, when they are on.
func (a *App) addFlowsWorker(ws *jobs.Workers) {
	if a.flows != nil {
		a.flows.Workers(ws)
	}
}

// flowsUseJobs gives the flows their job client.
func (a *App) flowsUseJobs(jc *jobs.Client) {
	if a.flows != nil {
		a.flows.SetJobs(jc)
	}
}

// accountService is the API's kura.AccountService: nil without the flows.
func (a *App) accountService() kura.AccountService {
	if a.flows == nil {
		return nil
	}
	return a.flows
}

// wireFlows has registration send the verification link in the user's
// transaction, after onCreate, and makes logins require a verified
// address when KURA_REQUIRE_VERIFIED_EMAIL says so.
func (a *App) wireFlows(users *accounts.UserService, sessions *accounts.SessionService) {
	sessions.RequireVerifiedEmail = a.cfg.RequireVerifiedEmail
	if a.flows == nil {
		return
	}
	onCreate := users.OnCreate
	users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
		if onCreate != nil {
			if err := onCreate(ctx, tx, u); err != nil {
				return err
			}
		}
		return a.flows.OnCreate(ctx, tx, u)
	}
}

// flowsHooks tells the flows of the caches to invalidate: the sessions a
// reset ends and the users a flow changes, on every instance.
func (a *App) flowsHooks(endSessions func(context.Context, []string), forgetUser func(context.Context, int64)) {
	if a.flows != nil {
		a.flows.SetHooks(endSessions, forgetUser)
	}
}

// ErrNoFlows is AccountFlows's error when the account flows are off.
var ErrNoFlows = errors.New("the account flows are off: they need KURA_PUBLIC_URL and mail (KURA_SMTP_URL, or KURA_MAIL_TRANSPORT=log)")

// AccountFlows returns the account flows of cfg over db, enqueueing
// through jc, for a command run at a shell: a link it asks for is mailed
// by a running kura serve or kura worker. ErrNoFlows when they are off.
func AccountFlows(cfg Config, db *sqldb.DB, jc *jobs.Client, log *slog.Logger) (*accounts.Flows, error) {
	if cfg.PublicURL == "" {
		return nil, ErrNoFlows
	}
	m, t, err := newMailer(&cfg, db, log)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, ErrNoFlows
	}
	f, err := accounts.NewFlows(db, accounts.FlowsConfig{Mailer: m, Templates: t, PublicURL: cfg.PublicURL, Logger: log})
	if err != nil {
		return nil, err
	}
	m.SetJobs(jc)
	f.SetJobs(jc)
	return f, nil
}
