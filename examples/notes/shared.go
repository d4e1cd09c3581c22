package notes

import (
	"context"
	"errors"
	"fmt"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
)

// SharedArgs is the job that tells a user a note was shared with them. It
// is enqueued in the transaction that records the share (Store.ShareNote)
// and worked off the request path.
type SharedArgs struct {
	NoteID   int64 `json:"note_id"`
	UserID   int64 `json:"user_id"`    // who the note was shared with
	ByUserID int64 `json:"by_user_id"` // its owner
}

// Kind implements jobs.Args.
func (SharedArgs) Kind() string { return "notes.shared" }

// SharedWorker delivers SharedArgs jobs as kura notifications. It is safe
// to run twice: the notification's idempotency key names the note and the
// user, so a second run stores nothing. A note or user deleted meanwhile
// ends the job without a notification.
type SharedWorker struct {
	Notes         *Store
	Users         kura.UserService
	Notifications kura.NotificationService
}

// AddTo registers the worker on ws.
func (w *SharedWorker) AddTo(ws *jobs.Workers) {
	jobs.AddWorker(ws, jobs.WorkerFunc[SharedArgs](w.work))
}

func (w *SharedWorker) work(ctx context.Context, j *jobs.Job[SharedArgs]) error {
	a := j.Args
	n, err := w.Notes.LoadNote(ctx, a.NoteID)
	if gone(err) {
		return nil
	} else if err != nil {
		return err
	}
	by, err := w.Users.FindUserByID(ctx, a.ByUserID)
	if gone(err) {
		return nil
	} else if err != nil {
		return err
	}
	_, err = w.Notifications.CreateNotification(ctx, &kura.Notification{
		UserID:  a.UserID,
		Kind:    "note_shared",
		Key:     fmt.Sprintf("note_shared:%d:%d", a.NoteID, a.UserID),
		Message: fmt.Sprintf("%s shared the note %q with you.", by.Username, n.Title),
	})
	if gone(err) {
		return nil
	}
	return err
}

// gone reports whether err says the thing a job is about no longer exists.
func gone(err error) bool {
	return err != nil && kura.ErrorCode(err) == kura.ENOTFOUND && !errors.Is(err, context.Canceled)
}
