package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

var _ kura.AccountService = (*Flows)(nil)

// How long each link works, and how many links of one purpose an account
// receives in an hour (counted in the database, by account, whatever the
// address or spelling that asked).
const (
	VerifyEmailTTL   = 24 * time.Hour
	PasswordResetTTL = time.Hour
	EmailChangeTTL   = 24 * time.Hour
	MaxLinksPerHour  = 3
)

// The paths of the links under FlowsConfig.PublicURL: pages of the
// application's front end, which post the token (the query's "token") to
// kura's API.
const (
	VerifyEmailPath   = "/verify-email"
	ResetPasswordPath = "/reset-password"
	ConfirmEmailPath  = "/confirm-email"
)

// FlowsConfig configures the account flows.
type FlowsConfig struct {
	// Mailer sends the links, in the transaction of the change that
	// causes them. Required.
	Mailer *mail.Mailer
	// Templates renders them: verify_email, password_reset,
	// password_changed, email_change and email_changed. Required.
	Templates *mail.Templates
	// PublicURL is the base of the links, such as https://app.example.com
	// (KURA_PUBLIC_URL; see ValidatePublicURL). Required.
	PublicURL string
	// AppName names the application in the mail; "" means "kura".
	AppName string
	// Logger receives what a flow did not send (never an address). Nil
	// means slog.Default().
	Logger *slog.Logger
	// OnSessionsEnded, if set, learns of the sessions a password reset
	// ended, after its commit: a session cache forgets them there.
	OnSessionsEnded func(ctx context.Context, digests []string)
	// OnUserChanged, if set, learns of a user a flow changed, after its
	// commit: a user cache forgets it there.
	OnUserChanged func(ctx context.Context, id int64)
}

// ValidatePublicURL checks the links' base: an absolute http or https URL
// without query, fragment or credentials, and https unless the host is a
// loopback name or address (links carry tokens).
func ValidatePublicURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("must be the application's absolute URL, such as https://app.example.com")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return errors.New("must have no credentials, query or fragment")
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return errors.New("must be https off loopback: its links carry tokens")
	}
	return nil
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "127.")
}

// Flows is the kura.AccountService of a database: tokens in
// account_tokens (store.Tokens), links sent by mail through the outbox.
type Flows struct {
	db     *sqldb.DB
	users  *store.Users
	tokens *store.Tokens
	cfg    FlowsConfig
	base   string
	log    *slog.Logger
	jobs   atomic.Pointer[jobs.Client]
}

// NewFlows returns the account flows of db. Before use, register their
// worker (Workers) and give them the job client (SetJobs).
func NewFlows(db *sqldb.DB, cfg FlowsConfig) (*Flows, error) {
	if cfg.Mailer == nil || cfg.Templates == nil {
		return nil, errors.New("accounts: FlowsConfig.Mailer and Templates are required")
	}
	if err := ValidatePublicURL(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("accounts: FlowsConfig.PublicURL (KURA_PUBLIC_URL) %w", err)
	}
	if cfg.AppName == "" {
		cfg.AppName = "kura"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Flows{db: db, users: store.NewUsers(db), tokens: store.NewTokens(db), cfg: cfg,
		base: strings.TrimSuffix(cfg.PublicURL, "/"), log: cfg.Logger}, nil
}

// SetJobs sets the job client the flows enqueue their work with.
func (f *Flows) SetJobs(c *jobs.Client) { f.jobs.Store(c) }

// SetHooks sets FlowsConfig.OnSessionsEnded and OnUserChanged, for
// caches made after the flows; call it before use.
func (f *Flows) SetHooks(onSessionsEnded func(context.Context, []string), onUserChanged func(context.Context, int64)) {
	f.cfg.OnSessionsEnded, f.cfg.OnUserChanged = onSessionsEnded, onUserChanged
}

// link returns the link of a token under the public URL.
func (f *Flows) link(path, token string) string {
	return f.base + path + "?token=" + url.QueryEscape(token)
}

// validFor says a link's lifetime in words.
func validFor(d time.Duration) string {
	if d%time.Hour == 0 {
		if h := int(d / time.Hour); h != 1 {
			return fmt.Sprintf("%d hours", h)
		}
		return "1 hour"
	}
	return d.String()
}

// send renders the template name for u and enqueues it to to in tx, once
// per key.
func (f *Flows) send(ctx context.Context, tx *sqldb.Tx, name, key, to string, data mail.Data) error {
	data.App = f.cfg.AppName
	msg, err := f.cfg.Templates.Message(name, key, to, data)
	if err != nil {
		return err
	}
	_, err = f.cfg.Mailer.SendTx(ctx, tx, msg)
	return err
}

// issueAndSend issues a token of the purpose to u and sends its link, in
// tx.
func (f *Flows) issueAndSend(ctx context.Context, tx *sqldb.Tx, u *kura.User, purpose, to, newEmail string) error {
	ttl, path := purposeTTL(purpose)
	token, id, err := f.tokens.Issue(ctx, tx, u.ID, purpose, newEmail, ttl)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s:%d:%d", purpose, u.ID, id)
	return f.send(ctx, tx, purpose, key, to, mail.Data{Name: u.Username, Email: to, Link: f.link(path, token), Valid: validFor(ttl)})
}

// purposeTTL returns the lifetime and the link path of a purpose.
func purposeTTL(purpose string) (time.Duration, string) {
	switch purpose {
	case store.PurposePasswordReset:
		return PasswordResetTTL, ResetPasswordPath
	case store.PurposeEmailChange:
		return EmailChangeTTL, ConfirmEmailPath
	}
	return VerifyEmailTTL, VerifyEmailPath
}

// changed tells the hooks what a committed flow changed.
func (f *Flows) changed(ctx context.Context, id int64, ended []string) {
	if len(ended) > 0 && f.cfg.OnSessionsEnded != nil {
		f.cfg.OnSessionsEnded(ctx, ended)
	}
	if f.cfg.OnUserChanged != nil {
		f.cfg.OnUserChanged(ctx, id)
	}
}
