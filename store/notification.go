package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

var _ kura.NotificationService = (*NotificationService)(nil)

// NotificationService is the kura.NotificationService of a database.
type NotificationService struct {
	db *sqldb.DB
}

// NewNotificationService returns the notification service of db.
func NewNotificationService(db *sqldb.DB) *NotificationService {
	return &NotificationService{db: db}
}

// notificationCols are the columns scanned by scanNotification, in order
// (ts: see sqldb.Rebind).
const notificationCols = "id, user_id, kind, idempotency_key, message, ts(created_at)"

func scanNotification(r sqldb.Scanner) (*kura.Notification, error) {
	var n kura.Notification
	if err := r.Scan(&n.ID, &n.UserID, &n.Kind, &n.Key, &n.Message, sqldb.Time(&n.CreatedAt)); err != nil {
		return nil, err
	}
	return &n, nil
}

// CreateNotification validates n and inserts it in one transaction unless
// a notification with its Key exists; either way n gets the ID and
// CreatedAt of the row that holds the key, and created tells which.
// Concurrent calls with one key store it once: the unique index makes the
// later insert wait for the earlier one's transaction, then skip the row.
// Errors: EINVALID, ENOTFOUND ("User not found.") when n.UserID has no
// user, EUNAVAILABLE.
func (s *NotificationService) CreateNotification(ctx context.Context, n *kura.Notification) (bool, error) {
	if err := n.Validate(); err != nil {
		return false, err
	}
	var id int64
	var at time.Time
	var created bool
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		var err error
		id, at, created, err = s.insertNotification(ctx, tx, n)
		if sqldb.IsForeignKeyViolation(err) {
			return kura.Errorf(kura.ENOTFOUND, "User not found.")
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create notification: %w", err)
	}
	n.ID, n.CreatedAt = id, at
	return created, nil
}

// insertNotification inserts n unless its key is taken and returns the id
// and creation time of the row that holds the key, and whether it is the
// new one. PostgreSQL and SQLite skip a duplicate with ON CONFLICT DO
// NOTHING, and RETURNING then gives no row. MySQL has no such clause, and
// INSERT IGNORE would also turn a missing user (a foreign-key error) into a
// warning, so a duplicate changes nothing (ON DUPLICATE KEY UPDATE id = id)
// and the new row is told apart by LastInsertId: the id of the inserted
// row, never that of an existing one (0 when nothing was inserted). The
// existing row is read by its key, on MySQL with a locking read, which sees
// the latest committed row whatever the transaction read before.
func (s *NotificationService) insertNotification(ctx context.Context, tx *sqldb.Tx, n *kura.Notification) (id int64, at time.Time, created bool, err error) {
	q := "INSERT INTO notifications (user_id, kind, idempotency_key, message) VALUES (?, ?, ?, ?)"
	args := []any{n.UserID, n.Kind, n.Key, n.Message}
	existing := qNotificationByKey
	if s.db.Dialect() == sqldb.MySQL {
		res, err := tx.ExecContext(ctx, q+" ON DUPLICATE KEY UPDATE id = id", args...)
		if err != nil {
			return 0, time.Time{}, false, err
		}
		inserted, err := res.LastInsertId()
		if err != nil {
			return 0, time.Time{}, false, err
		}
		err = tx.QueryRowContext(ctx, existing+" FOR UPDATE", n.Key).Scan(&id, sqldb.Time(&at))
		return id, at, err == nil && id == inserted, err
	}
	err = tx.QueryRowContext(ctx, q+" ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, ts(created_at)", args...).
		Scan(&id, sqldb.Time(&at))
	if !errors.Is(err, sql.ErrNoRows) {
		return id, at, err == nil, err
	}
	err = tx.QueryRowContext(ctx, existing, n.Key).Scan(&id, sqldb.Time(&at))
	return id, at, false, err
}

// ListNotifications returns the user's notifications newest first, the
// same way ListUsers lists users: newest first is id order, and the index
// on (user_id, id) serves both the ORDER BY and the keyset condition
// (WHERE user_id = ? AND id < cursor ORDER BY id DESC LIMIT n), so a deep
// keyset page costs the same as the first. Keyset mode fetches one row
// more than asked to know whether a next page exists; offset mode also
// counts the user's notifications. Errors: EINVALID (bad cursor or sizes),
// EUNAVAILABLE.
func (s *NotificationService) ListNotifications(ctx context.Context, userID int64, opt kura.ListOptions) (*kura.NotificationList, error) {
	l := notificationsNewestFirst
	l.Args = []any{userID}
	p, err := sqldb.List(ctx, s.db, opt, l)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return p, nil
}
