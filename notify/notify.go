package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
)

// Args is the job that delivers one notification.
type Args struct {
	UserID  int64  `json:"user_id"`
	Type    string `json:"type"` // the notification's kind, such as "welcome"
	Key     string `json:"key"`
	Message string `json:"message"`
}

// Kind names the delivery job.
func (Args) Kind() string { return "notify.deliver" }

func (a Args) notification() *kura.Notification {
	return &kura.Notification{UserID: a.UserID, Kind: a.Type, Key: a.Key, Message: a.Message}
}

// Welcome returns the welcome notification of a new user. Its key is
// derived from the user id: a user is welcomed once.
func Welcome(u *kura.User) Args {
	return Args{
		UserID:  u.ID,
		Type:    "welcome",
		Key:     "welcome:" + strconv.FormatInt(u.ID, 10),
		Message: "Welcome to kura, " + u.Username + "!",
	}
}

// EnqueueTx validates the notification and enqueues its delivery in tx:
// it is delivered if and only if tx commits. Errors: EINVALID.
func EnqueueTx(ctx context.Context, c *jobs.Client, tx jobs.Tx, a Args) error {
	if err := a.notification().Validate(); err != nil {
		return err
	}
	_, err := c.EnqueueTx(ctx, tx, a, nil)
	return err
}

// AddWorker registers the delivery worker, which hands each notification
// to n.
func AddWorker(ws *jobs.Workers, n kura.Notifier, logger *slog.Logger) {
	jobs.AddWorker(ws, &worker{n: n, log: logger})
}

type worker struct {
	n   kura.Notifier
	log *slog.Logger
}

// Work delivers one notification. A user deleted since it was enqueued
// has nothing to deliver to: the job is done.
func (w *worker) Work(ctx context.Context, job *jobs.Job[Args]) error {
	n := job.Args.notification()
	err := w.n.Notify(ctx, n)
	if kura.ErrorCode(err) == kura.ENOTFOUND {
		w.log.Info("notification dropped: the user no longer exists", "user_id", n.UserID, "kind", n.Kind, "job_id", job.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("deliver %s notification to user %d: %w", n.Kind, n.UserID, err)
	}
	return nil
}

// Store is the built-in Notifier: it writes the notification to the
// notifications table, once per key, and logs the delivery.
type Store struct {
	Notifications kura.NotificationService
	Logger        *slog.Logger
}

// Notify stores n unless a notification with its key is stored already.
func (s Store) Notify(ctx context.Context, n *kura.Notification) error {
	created, err := s.Notifications.CreateNotification(ctx, n)
	if err != nil {
		return err
	}
	if created {
		s.Logger.Info("notification delivered", "notification_id", n.ID, "user_id", n.UserID, "kind", n.Kind)
	} else {
		s.Logger.Info("notification already delivered", "notification_id", n.ID, "user_id", n.UserID, "kind", n.Kind)
	}
	return nil
}
