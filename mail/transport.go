package mail

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Outgoing is a message as a Transport sends it.
type Outgoing struct {
	*Message
	From string    // Config.From
	ID   string    // the Message-ID, without angle brackets (Message.ID)
	Date time.Time // when it is handed to the transport
}

// Transport delivers a message. An error that will not change by retrying
// (the server refused the recipient or the message for good) is wrapped in
// a *PermanentError: the Mailer then marks the message failed without
// another attempt. Any other error is retried with backoff.
type Transport interface {
	Send(ctx context.Context, m *Outgoing) error
}

// PermanentError is a refusal that retrying will not change, such as an
// SMTP 5xx answer.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent reports whether err is, or wraps, a *PermanentError.
func Permanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Log is the development transport: it prints each message, its links
// included, to Logger at info level instead of sending it. The bodies hold
// the flows' tokens: never use it where the log is kept or shared.
type Log struct {
	Logger *slog.Logger
}

// Send logs m.
func (l Log) Send(ctx context.Context, m *Outgoing) error {
	l.Logger.LogAttrs(ctx, slog.LevelInfo, "mail printed, not sent (KURA_MAIL_TRANSPORT=log)",
		slog.String("to", m.To), slog.String("from", m.From), slog.String("subject", m.Subject),
		slog.String("message_id", m.ID), slog.String("text", m.Text))
	return nil
}
