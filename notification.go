package kura

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a notification, in characters, checked by Validate.
const (
	MaxNotificationKindLen    = 50
	MaxNotificationKeyLen     = 200
	MaxNotificationMessageLen = 2000
)

// Notification is a message to one user, such as the welcome note sent on
// registration.
type Notification struct {
	ID        int64
	UserID    int64
	Kind      string // such as "welcome"
	Key       string // idempotency key, unique across notifications: delivering the same notification twice stores it once
	Message   string
	CreatedAt time.Time
}

// Validate returns an EINVALID *Error naming every bad field, or nil: a
// positive user_id, and a kind (1 to 50 characters), key (1 to 200) and
// message (1 to 2000) of valid UTF-8 without NUL characters.
func (n *Notification) Validate() error {
	fields := map[string]string{}
	if n.UserID <= 0 {
		fields["user_id"] = "must be a positive id"
	}
	setIf(fields, "kind", validateText(n.Kind, MaxNotificationKindLen))
	setIf(fields, "key", validateText(n.Key, MaxNotificationKeyLen))
	setIf(fields, "message", validateText(n.Message, MaxNotificationMessageLen))
	return invalid(fields)
}

// NotificationList is one page of a user's notifications, in the same two
// modes as UserList.
type NotificationList = Page[*Notification]

// NotificationService stores the notifications of users.
type NotificationService interface {
	// CreateNotification stores n (setting ID and CreatedAt) unless one
	// with the same Key exists, and reports whether it stored it. When it
	// did not, n gets the ID and CreatedAt of the existing one.
	// Errors: EINVALID, ENOTFOUND when the user does not exist,
	// EUNAVAILABLE.
	CreateNotification(ctx context.Context, n *Notification) (created bool, err error)

	// ListNotifications returns one page of the user's notifications,
	// newest first, by keyset cursor or by page (see ListOptions). A user
	// without notifications, or without an account, has an empty list.
	// Errors: EINVALID for a bad cursor, page or size, EUNAVAILABLE.
	ListNotifications(ctx context.Context, userID int64, opts ListOptions) (*NotificationList, error)
}

// Notifier delivers a notification: by writing it to the notifications
// table, by email, by webhook. It may be called more than once for the same
// notification (deliveries are retried after failures and crashes); it
// must use Key to deliver it at most once.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// validateText checks a required string of at most max characters.
func validateText(s string, max int) string {
	switch {
	case s == "":
		return "is required"
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "must be valid UTF-8 without NUL characters"
	case utf8.RuneCountInString(s) > max:
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	return ""
}
