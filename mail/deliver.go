package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// deliverArgs is the job that delivers the message of one kura_mail row.
type deliverArgs struct {
	ID int64 `json:"id"`
}

// Kind names the delivery job.
func (deliverArgs) Kind() string { return "mail.deliver" }

// DeliverKind is the kind of the delivery job, as the job list shows it.
const DeliverKind = "mail.deliver"

// Workers registers the delivery worker with ws.
func (m *Mailer) Workers(ws *jobs.Workers) {
	jobs.AddWorker(ws, jobs.WorkerFunc[deliverArgs](m.deliver))
}

// The states of a row of kura_mail.
const (
	stateQueued = "queued"
	stateSent   = "sent"
	stateFailed = "failed"
)

// stored is a row of kura_mail.
type stored struct {
	msg       Message
	messageID string
	state     string
	attempts  int
}

// errClaimed is the error of an attempt that found another one sending the
// same message (a job released while its first holder still ran): the job
// is retried and then finds the message sent, or sends it.
var errClaimed = errors.New("another attempt is sending this message")

// deliver sends one message. A message already sent or failed, or whose
// row is gone, is done. It claims the attempt first (the attempt count
// compared and raised), so two runs of one job never both send.
func (m *Mailer) deliver(ctx context.Context, job *jobs.Job[deliverArgs]) error {
	id := job.Args.ID
	s, err := m.load(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		m.log.Info("mail not sent: its row no longer exists", "mail_id", id, "job_id", job.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if s.state != stateQueued {
		return nil
	}
	if ok, err := m.claim(ctx, id, s.attempts); err != nil {
		return err
	} else if !ok {
		return errClaimed
	}
	out := &Outgoing{Message: &s.msg, From: m.from, ID: s.messageID, Date: time.Now()}
	sendErr := m.cfg.Transport.Send(ctx, out)
	last := job.Attempt >= job.MaxAttempts
	switch {
	case sendErr == nil:
		m.stats.sent.Add(1)
		m.log.Info("mail sent", "mail_id", id, "key", s.msg.Key, "message_id", s.messageID, "attempt", job.Attempt)
		return m.finish(ctx, id, stateSent, "")
	case Permanent(sendErr) || last:
		m.stats.failed.Add(1)
		m.log.Error("mail failed for good", "mail_id", id, "key", s.msg.Key, "attempt", job.Attempt, "err", sendErr.Error())
		if err := m.finish(ctx, id, stateFailed, sendErr.Error()); err != nil {
			return err
		}
		if Permanent(sendErr) {
			return nil // refused: no attempt would change it
		}
		return fmt.Errorf("send mail %d: %w", id, sendErr) // the job ends discarded, its errors listed
	}
	m.stats.retried.Add(1)
	m.note(ctx, id, sendErr.Error())
	return fmt.Errorf("send mail %d: %w", id, sendErr)
}

func (m *Mailer) load(ctx context.Context, id int64) (*stored, error) {
	var s stored
	err := m.db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, `SELECT idempotency_key, recipient, subject, text_body, html_body, message_id, state, attempts
			FROM kura_mail WHERE id = ?`, id).Scan(&s.msg.Key, &s.msg.To, &s.msg.Subject, &s.msg.Text, &s.msg.HTML, &s.messageID, &s.state, &s.attempts)
	})
	return &s, err
}

// claim raises the attempt count of a queued row from attempts, and
// reports whether this attempt did.
func (m *Mailer) claim(ctx context.Context, id int64, attempts int) (bool, error) {
	n, err := m.exec(ctx, "UPDATE kura_mail SET attempts = attempts + 1 WHERE id = ? AND state = ? AND attempts = ?", id, stateQueued, attempts)
	return n == 1, err
}

// finish records the end of a message and empties its bodies, which may
// hold a token.
func (m *Mailer) finish(ctx context.Context, id int64, state, lastErr string) error {
	_, err := m.exec(context.WithoutCancel(ctx), `UPDATE kura_mail SET state = ?, last_error = ?, finished_at = ?, text_body = '', html_body = ''
		WHERE id = ? AND state = ?`, state, truncate(lastErr), m.db.Timestamp(), id, stateQueued)
	if err != nil {
		return fmt.Errorf("record mail %d as %s: %w", id, state, err)
	}
	return nil
}

// note records the error of an attempt that will be retried; a failure to
// record it is logged, since the retry does not depend on it.
func (m *Mailer) note(ctx context.Context, id int64, lastErr string) {
	if _, err := m.exec(ctx, "UPDATE kura_mail SET last_error = ? WHERE id = ?", truncate(lastErr), id); err != nil {
		m.log.Warn("could not record a mail attempt's error", "mail_id", id, "err", err.Error())
	}
}

func (m *Mailer) exec(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	err := m.db.InTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err == nil {
			n, err = res.RowsAffected()
		}
		return err
	})
	return n, err
}

// truncate keeps an error's first 2000 bytes.
func truncate(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}
