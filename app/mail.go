package app

import (
	"context"
	"io/fs"
	"log/slog"
	"os"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
)

// The transports KURA_MAIL_TRANSPORT names.
const (
	mailSMTP = "smtp"
	mailLog  = "log"
)

// MailNoteOff is /health's "mail" note without mail configured.
const MailNoteOff = "off"

// mailTransport returns the transport the configuration chooses, "" for
// no mail.
func (c *Config) mailTransport() string {
	switch {
	case c.MailTransport == "" && c.SMTPURL != "":
		return mailSMTP
	case c.MailTransport == "" && c.Dev:
		return mailLog // development mode prints what the app would mail
	}
	return c.MailTransport
}

// validateMail checks the mail settings, naming each variable; it refuses
// an SMTP URL that would send in clear off loopback before anything starts.
// The URL is never quoted.
func (c *Config) validateMail() []fieldError {
	var errs []fieldError
	switch t := c.mailTransport(); t {
	case "":
		return nil
	case mailSMTP:
		if c.SMTPURL == "" {
			errs = append(errs, fieldError{"KURA_SMTP_URL", "empty: KURA_MAIL_TRANSPORT=smtp needs the server, such as smtp://user:password@mail.example.com:587"})
		} else if _, err := mail.NewSMTP(mail.SMTPConfig{URL: c.SMTPURL}); err != nil {
			errs = append(errs, fieldError{"KURA_SMTP_URL", err.Error()})
		}
	case mailLog:
	default:
		errs = append(errs, fieldError{"KURA_MAIL_TRANSPORT", "must be smtp, log or empty"})
	}
	if err := (mail.Config{From: c.mailFrom(), Transport: mail.Log{}}).Validate(); err != nil {
		errs = append(errs, fieldError{"KURA_MAIL_FROM", "must be the sender's address, such as \"Example <no-reply@example.com>\""})
	}
	return errs
}

// newMailer makes the process's mailer and loads the templates, refusing
// a template that does not parse; without mail configured it does nothing.
func (a *App) newMailer() error {
	m, t, err := newMailer(&a.cfg, a.db, a.log)
	a.mailer, a.templates = m, t
	return err
}

// newMailer makes the mailer of cfg over db and loads its templates; nil
// and no error without mail configured.
func newMailer(cfg *Config, db *sqldb.DB, log *slog.Logger) (*mail.Mailer, *mail.Templates, error) {
	var tr mail.Transport
	switch cfg.mailTransport() {
	case "":
		return nil, nil, nil
	case mailLog:
		tr = mail.Log{Logger: log}
		log.Warn("mail is printed to the log, not sent (KURA_MAIL_TRANSPORT=log): its links hold tokens; never use it in production")
	default:
		s, err := mail.NewSMTP(mail.SMTPConfig{URL: cfg.SMTPURL})
		if err != nil {
			return nil, nil, err
		}
		tr = s
		log.Info("mail sent through SMTP", "server", s.String())
	}
	var overlay fs.FS
	if cfg.MailTemplates != "" {
		overlay = os.DirFS(cfg.MailTemplates)
	}
	t, err := mail.LoadTemplates(overlay)
	if err != nil {
		return nil, nil, err
	}
	m, err := mail.New(db, mail.Config{From: cfg.mailFrom(), Transport: tr, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return m, t, nil
}

// addMailWorker registers the delivery worker with ws, when mail is on.
func (a *App) addMailWorker(ws *jobs.Workers) {
	if a.mailer != nil {
		a.mailer.Workers(ws)
	}
}

// mailUseJobs gives the mailer its job client and the metrics its counts.
func (a *App) mailUseJobs(jc *jobs.Client) {
	if a.mailer == nil {
		return
	}
	a.mailer.SetJobs(jc)
	if a.metrics != nil {
		a.metrics.AddMail(a.mailer)
	}
}

// mailNote is /health's "mail" note: off, ok, failing (a message failed
// for good in the last day) or unknown. It never makes /health 503.
func (a *App) mailNote() httpapi.HealthNote {
	return httpapi.HealthNote{Name: "mail", Note: func(ctx context.Context) string {
		if a.mailer == nil {
			return MailNoteOff
		}
		return a.mailer.Health(ctx)
	}}
}
