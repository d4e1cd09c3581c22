package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sync/atomic"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// DefaultMaxAttempts is a message's attempts before it fails for good: with
// the job queue's backoff (attempt⁴ seconds) the last is about 4 hours
// after the first.
const DefaultMaxAttempts = 10

// Config configures a Mailer.
type Config struct {
	// From is the sender of every message, "Name <address>" or an
	// address (KURA_MAIL_FROM). Required.
	From string

	// Transport delivers the messages: an *SMTP, Log, or an
	// application's own. Required.
	Transport Transport

	// MaxAttempts is each message's attempts, the first included, before
	// it fails for good. Zero means DefaultMaxAttempts (10).
	MaxAttempts int

	// Logger receives deliveries and failures (never a body). Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate names the first field New would refuse.
func (c Config) Validate() error {
	switch {
	case c.From == "" || !validAddress(c.From):
		return errors.New("mail: Config.From (KURA_MAIL_FROM) must be the sender's address, such as \"Example <no-reply@example.com>\"")
	case c.Transport == nil:
		return errors.New("mail: Config.Transport must be set (an *SMTP, Log or one of the application's)")
	case c.MaxAttempts < 0:
		return fmt.Errorf("mail: Config.MaxAttempts must be 0 (the default) or more, not %d", c.MaxAttempts)
	}
	return nil
}

// Mailer sends messages off the request path, through an outbox: Send and
// SendTx store the message in kura_mail (mail.Schema) and enqueue its
// delivery job in one transaction, and a job worker (Workers) hands it to
// the Transport, with retries and backoff. Each message is stored once per
// key, and its row records when it was sent, so a job run twice (after a
// crash, or on another instance) does not send it again; see doc.go for
// the one case where a message may be sent twice.
type Mailer struct {
	db    *sqldb.DB
	cfg   Config
	from  string // cfg.From as an address header
	log   *slog.Logger
	jobs  atomic.Pointer[jobs.Client]
	stats counters
}

// New returns the mailer of db, whose schema includes Schema. Before it
// sends, register its worker (Workers) and give it the job client
// (SetJobs).
func New(db *sqldb.DB, cfg Config) (*Mailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a, _ := mail.ParseAddress(cfg.From)
	return &Mailer{db: db, cfg: cfg, from: a.String(), log: cfg.Logger}, nil
}

// SetJobs sets the job client that Send and SendTx enqueue deliveries
// with: the client made with the Workers this mailer registered, or in a
// process that only enqueues, any client of the same database.
func (m *Mailer) SetJobs(c *jobs.Client) { m.jobs.Store(c) }

// From returns the sender.
func (m *Mailer) From() string { return m.from }

// Send stores msg and enqueues its delivery in a transaction of its own.
// See SendTx.
func (m *Mailer) Send(ctx context.Context, msg *Message) (queued bool, err error) {
	err = m.db.InTx(ctx, func(tx *sqldb.Tx) error {
		queued, err = m.SendTx(ctx, tx, msg)
		return err
	})
	return queued, err
}

// SendTx validates msg, stores it and enqueues its delivery in tx, the
// transaction of the change that causes it: the message is sent if and
// only if tx commits. A message whose Key is stored already is not stored
// again: queued is false then, and nothing is enqueued. Errors: EINVALID
// naming the field; EUNAVAILABLE when the database is.
func (m *Mailer) SendTx(ctx context.Context, tx *sqldb.Tx, msg *Message) (queued bool, err error) {
	if err := msg.Validate(); err != nil {
		return false, err
	}
	jc := m.jobs.Load()
	if jc == nil {
		return false, errors.New("mail: the mailer has no job client: call SetJobs at start")
	}
	id, err := m.insert(ctx, tx, msg)
	if err != nil || id == 0 {
		return false, err
	}
	if _, err := jc.EnqueueTx(ctx, tx, deliverArgs{ID: id}, &jobs.EnqueueOpts{MaxAttempts: m.cfg.MaxAttempts}); err != nil {
		return false, err
	}
	return true, nil
}

// insert stores msg unless its key is taken, and returns its id, or 0 for
// a key taken. PostgreSQL and SQLite skip a duplicate with ON CONFLICT DO
// NOTHING (RETURNING then gives no row); MySQL changes nothing with ON
// DUPLICATE KEY UPDATE id = id, and LastInsertId is 0.
func (m *Mailer) insert(ctx context.Context, tx *sqldb.Tx, msg *Message) (int64, error) {
	q := "INSERT INTO kura_mail (idempotency_key, message_id, recipient, subject, text_body, html_body, last_error) VALUES (?, ?, ?, ?, ?, ?, '')"
	if m.db.Dialect() == sqldb.MySQL {
		q += " ON DUPLICATE KEY UPDATE id = id"
	} else {
		q += " ON CONFLICT (idempotency_key) DO NOTHING"
	}
	id, err := m.db.Insert(ctx, tx, q, msg.Key, msg.ID(m.from), msg.To, msg.Subject, msg.Text, msg.HTML)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store mail %q: %w", msg.Key, err)
	}
	return id, nil
}

// Stats counts this process's deliveries since the mailer was made.
type Stats struct {
	Sent    int64 // messages delivered
	Retried int64 // attempts that failed and will be retried
	Failed  int64 // messages that failed for good: refused (5xx) or out of attempts
}

type counters struct{ sent, retried, failed atomic.Int64 }

// Stats returns this process's counts.
func (m *Mailer) Stats() Stats {
	return Stats{Sent: m.stats.sent.Load(), Retried: m.stats.retried.Load(), Failed: m.stats.failed.Load()}
}
