package mail

import (
	"context"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The words of Health, for /health's "mail" note.
const (
	HealthOK      = "ok"      // no message failed for good in the last day
	HealthFailing = "failing" // one did: see the log, kura_mail and the job list
	HealthUnknown = "unknown" // the outbox could not be read
)

// FailedSince returns how many messages failed for good since t, on every
// instance (the outbox's rows, not this process's Stats).
func (m *Mailer) FailedSince(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := m.db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, "SELECT COUNT(*) FROM kura_mail WHERE state = ? AND finished_at >= ?", stateFailed, t).Scan(&n)
	})
	return n, err
}

// Health returns the word for /health's "mail" note: HealthFailing while a
// message failed for good in the last 24 hours. It never makes /health
// fail: a mail server's refusal is for an operator to see, not a reason
// to take the instance out of a balancer.
func (m *Mailer) Health(ctx context.Context) string {
	n, err := m.FailedSince(ctx, time.Now().Add(-24*time.Hour))
	switch {
	case err != nil:
		return HealthUnknown
	case n > 0:
		return HealthFailing
	}
	return HealthOK
}
