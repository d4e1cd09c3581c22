package notes

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// templatesFS holds the app's own messages: share.txt and share.html.
//
//go:embed templates
var templatesFS embed.FS

// ShareMail sends the share notice by mail through kura's mailer, in the
// transaction that records the share: the mail is sent if and only if the
// share commits, once per note and user however often the share is
// retried.
type ShareMail struct {
	m     *mail.Mailer
	tpl   *mail.Templates
	users *store.Users
}

// mailShares has s mail its share notices through the app's mailer, when
// mail is on (KURA_SMTP_URL or KURA_MAIL_TRANSPORT): the mailer kura's own
// account mail goes through, in the app's transactions.
func mailShares(a *app.App, s *Store) (err error) {
	if m := a.Mailer(); m != nil {
		s.Mail, err = NewShareMail(a.DB(), m)
	}
	return err
}

// NewShareMail returns the share notice of m, whose templates it loads
// now, refusing one that does not parse.
func NewShareMail(db *sqldb.DB, m *mail.Mailer) (*ShareMail, error) {
	templates, err := fs.Sub(templatesFS, "templates")
	if err != nil {
		return nil, err
	}
	tpl, err := mail.LoadTemplates(templates) // share.txt, share.html; refused at start if they do not parse
	if err != nil {
		return nil, err
	}
	return &ShareMail{m: m, tpl: tpl, users: store.NewUsers(db)}, nil
}

// shareData is what the share template shows.
type shareData struct {
	Name  string // the recipient's username
	By    string // the owner's
	Title string // the note's
}

// sendTx enqueues the notice to toUserID of the note noteID, titled title,
// shared by by, in tx.
func (sm *ShareMail) sendTx(ctx context.Context, tx *sqldb.Tx, noteID, toUserID int64, title string, by *kura.User) error {
	to, err := sm.users.FindUserTx(ctx, tx, toUserID)
	if err != nil {
		return err
	}
	shareData := shareData{Name: to.Username, By: by.Username, Title: title}
	msg, err := sm.tpl.Message("share", fmt.Sprintf("share:%d:%d", noteID, toUserID), to.Email, shareData)
	if err != nil {
		return err
	}
	_, err = sm.m.SendTx(ctx, tx, msg)
	return err
}
