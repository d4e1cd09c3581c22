package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// sendLinkArgs is the job that sends a link of Purpose to the account
// with the address Email, if there is one: the look-up happens here, off
// the request path, so that a request answers and works alike whether or
// not the account exists.
type sendLinkArgs struct {
	Purpose string `json:"purpose"`
	Email   string `json:"email"`
}

// SendLinkKind is the kind of the job that sends a verification or reset
// link asked for by address.
const SendLinkKind = "accounts.send_link"

// Kind names the job.
func (sendLinkArgs) Kind() string { return SendLinkKind }

// Workers registers the flows' worker with ws.
func (f *Flows) Workers(ws *jobs.Workers) {
	jobs.AddWorker(ws, jobs.WorkerFunc[sendLinkArgs](func(ctx context.Context, j *jobs.Job[sendLinkArgs]) error {
		return f.sendLink(ctx, j.Args.Purpose, j.Args.Email)
	}))
}

// OnCreate sends the verification link of a new user in the transaction
// that creates it: it fits store.Users.OnCreate.
func (f *Flows) OnCreate(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
	return f.issueAndSend(ctx, tx, u, store.PurposeVerifyEmail, u.Email, "")
}

// SendVerification enqueues the job that sends a new verification link to
// the account of email (see kura.AccountService).
func (f *Flows) SendVerification(ctx context.Context, email string) error {
	return f.enqueueLink(ctx, store.PurposeVerifyEmail, email)
}

// RequestPasswordReset enqueues the job that sends a reset link to the
// account of email (see kura.AccountService).
func (f *Flows) RequestPasswordReset(ctx context.Context, email string) error {
	return f.enqueueLink(ctx, store.PurposePasswordReset, email)
}

// enqueueLink validates email and enqueues its job: the same steps for
// every well-formed address, an account's or not. Errors: EINVALID
// naming "email", EUNAVAILABLE.
func (f *Flows) enqueueLink(ctx context.Context, purpose, email string) error {
	email = kura.NormalizeEmail(email)
	upd := kura.UserUpdate{Email: &email}
	if err := store.CheckEmail(upd.Email, upd.Validate); err != nil {
		return err
	}
	jc := f.jobs.Load()
	if jc == nil {
		return errors.New("accounts: the flows have no job client: call SetJobs at start")
	}
	if _, err := jc.Enqueue(ctx, sendLinkArgs{Purpose: purpose, Email: email}, nil); err != nil {
		return fmt.Errorf("send link: %w", err)
	}
	return nil
}

// sendLink is the job's work: it sends a link of purpose to the account
// of email unless there is none, its address is verified already (for a
// verification), or it received MaxLinksPerHour of them in the last hour.
func (f *Flows) sendLink(ctx context.Context, purpose, email string) error {
	if purpose != store.PurposeVerifyEmail && purpose != store.PurposePasswordReset {
		return fmt.Errorf("send link: unknown purpose %q", purpose)
	}
	return f.db.InTx(ctx, func(tx *sqldb.Tx) error {
		id, err := f.users.UserIDByEmail(ctx, tx, email)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no account: nothing to send, and the request knew nothing of it
		} else if err != nil {
			return err
		}
		u, err := f.users.FindUserTx(ctx, tx, id)
		if err != nil || u.Disabled || purpose == store.PurposeVerifyEmail && !u.EmailVerifiedAt.IsZero() {
			return err // a disabled account gets no link
		}
		n, err := f.tokens.IssuedSince(ctx, tx, id, purpose, f.db.Timestamp().Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= MaxLinksPerHour {
			f.log.Info("link not sent: the account received its hourly allowance", "purpose", purpose, "user_id", id)
			return nil
		}
		return f.issueAndSend(ctx, tx, u, purpose, u.Email, "")
	})
}
