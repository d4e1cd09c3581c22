package store_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// countNotifications returns the number of rows in notifications.
func countNotifications(tb testing.TB, db *sqldb.DB) (n int) {
	tb.Helper()
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM notifications").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// mustCreateNotification stores a new notification of the user and fails
// the test unless it was stored.
func mustCreateNotification(tb testing.TB, s *store.NotificationService, userID int64, key string) *kura.Notification {
	tb.Helper()
	n := &kura.Notification{UserID: userID, Kind: "test", Key: key, Message: "Message " + key}
	created, err := s.CreateNotification(context.Background(), n)
	if err != nil || !created {
		tb.Fatalf("create notification %s: %v, %v", key, created, err)
	}
	return n
}

func TestNotificationService_CreateNotification(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := store.NewNotificationService(db)
		ctx := context.Background()
		u := MustCreateUser(t, db, "kim@example.com", "kim")

		t.Run("OK", func(t *testing.T) {
			n := &kura.Notification{UserID: u.ID, Kind: "welcome", Key: "welcome:" + strconv.FormatInt(u.ID, 10), Message: "Welcome, kim!"}
			created, err := s.CreateNotification(ctx, n)
			if err != nil || !created {
				t.Fatalf("CreateNotification = %v, %v", created, err)
			}
			if n.ID == 0 || n.CreatedAt.IsZero() || n.CreatedAt.Location() != time.UTC {
				t.Fatalf("unexpected notification %+v", n)
			}
			if d := time.Since(n.CreatedAt); d < -time.Minute || d > time.Minute {
				t.Fatalf("created_at %v is not now", n.CreatedAt)
			}
			list, err := s.ListNotifications(ctx, u.ID, kura.ListOptions{})
			if err != nil || len(list.Items) != 1 || *list.Items[0] != *n {
				t.Fatalf("ListNotifications = %+v, %v; want %+v", list, err, n)
			}
		})

		t.Run("DuplicateKeyStoresOnce", func(t *testing.T) {
			first := mustCreateNotification(t, s, u.ID, "dup")
			before := countNotifications(t, db)
			again := &kura.Notification{UserID: u.ID, Kind: "other", Key: "dup", Message: "Another message"}
			created, err := s.CreateNotification(ctx, again)
			if err != nil || created {
				t.Fatalf("second CreateNotification = %v, %v; want not created", created, err)
			}
			if again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) {
				t.Fatalf("duplicate got id %d at %v; want the first's %d at %v", again.ID, again.CreatedAt, first.ID, first.CreatedAt)
			}
			if n := countNotifications(t, db); n != before {
				t.Fatalf("%d notifications after a duplicate; want %d", n, before)
			}
		})

		t.Run("ConcurrentDuplicates", func(t *testing.T) {
			before := countNotifications(t, db)
			const n = 8
			var wg sync.WaitGroup
			results := make([]*kura.Notification, n)
			createds := make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					results[i] = &kura.Notification{UserID: u.ID, Kind: "race", Key: "race", Message: "Message " + strconv.Itoa(i)}
					createds[i], errs[i] = s.CreateNotification(ctx, results[i])
				})
			}
			wg.Wait()
			stored := 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("call %d: %v", i, errs[i])
				}
				if createds[i] {
					stored++
				}
				if results[i].ID != results[0].ID {
					t.Fatalf("call %d got id %d, call 0 got %d", i, results[i].ID, results[0].ID)
				}
			}
			if stored != 1 || countNotifications(t, db) != before+1 {
				t.Fatalf("%d calls reported storing; %d rows added; want 1 and 1", stored, countNotifications(t, db)-before)
			}
		})

		t.Run("KeysCompareExactly", func(t *testing.T) {
			for _, key := range []string{"exact", "Exact", "exact ", "exäct"} {
				mustCreateNotification(t, s, u.ID, key)
			}
		})

		t.Run("LongestValues", func(t *testing.T) {
			n := &kura.Notification{UserID: u.ID, Kind: strings.Repeat("é", kura.MaxNotificationKindLen),
				Key: strings.Repeat("😀", kura.MaxNotificationKeyLen), Message: strings.Repeat("日", kura.MaxNotificationMessageLen)}
			if created, err := s.CreateNotification(ctx, n); err != nil || !created {
				t.Fatalf("CreateNotification = %v, %v", created, err)
			}
			list, err := s.ListNotifications(ctx, u.ID, kura.ListOptions{Limit: 1})
			if err != nil || *list.Items[0] != *n {
				t.Fatalf("read back %+v, %v", list.Items, err)
			}
		})

		t.Run("ErrUserNotFound", func(t *testing.T) {
			before := countNotifications(t, db)
			n := &kura.Notification{UserID: 424242, Kind: "welcome", Key: "ghost", Message: "Boo"}
			created, err := s.CreateNotification(ctx, n)
			wantCode(t, err, kura.ENOTFOUND)
			if kura.ErrorMessage(err) != "User not found." || created || n.ID != 0 {
				t.Fatalf("CreateNotification = %v, %v, id %d", created, err, n.ID)
			}
			if n := countNotifications(t, db); n != before {
				t.Fatalf("%d notifications; want %d", n, before)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.CreateNotification(ctx, &kura.Notification{UserID: u.ID, Kind: strings.Repeat("k", 51), Key: "bad"})
			wantCode(t, err, kura.EINVALID)
			if f := kura.ErrorFields(err); f["kind"] == "" || f["message"] == "" || len(f) != 2 {
				t.Fatalf("fields = %v; want kind and message", f)
			}
		})
	})
}

func TestNotificationService_ListNotifications(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := store.NewNotificationService(db)
		ctx := context.Background()
		lee := MustCreateUser(t, db, "lee@example.com", "lee")
		mia := MustCreateUser(t, db, "mia@example.com", "mia")
		for i := range 7 { // interleaved with another user's
			mustCreateNotification(t, s, lee.ID, fmt.Sprintf("lee-%d", i))
			if i%3 == 0 {
				mustCreateNotification(t, s, mia.ID, fmt.Sprintf("mia-%d", i))
			}
		}

		t.Run("Keyset", func(t *testing.T) {
			seen := map[int64]bool{}
			var order []int64
			cursor := ""
			for page := 0; ; page++ {
				list, err := s.ListNotifications(ctx, lee.ID, kura.ListOptions{Limit: 3, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range list.Items {
					if n.UserID != lee.ID {
						t.Fatalf("notification %d of user %d in lee's list", n.ID, n.UserID)
					}
					if seen[n.ID] {
						t.Fatalf("notification %d repeated", n.ID)
					}
					seen[n.ID] = true
					order = append(order, n.ID)
				}
				if page == 0 {
					// Rows inserted between page reads must not shift later pages.
					mustCreateNotification(t, s, lee.ID, "lee-late")
				}
				if list.NextCursor == "" {
					break
				}
				cursor = list.NextCursor
			}
			if len(order) != 7 {
				t.Fatalf("read %d notifications over the pages; want the 7 that existed at the start", len(order))
			}
			for i := 1; i < len(order); i++ {
				if order[i] >= order[i-1] {
					t.Fatalf("not newest first: %v", order)
				}
			}
		})

		t.Run("Offset", func(t *testing.T) {
			list, err := s.ListNotifications(ctx, lee.ID, kura.ListOptions{Page: 2, PerPage: 3})
			if err != nil {
				t.Fatal(err)
			}
			if list.Total != 8 || len(list.Items) != 3 || list.Page != 2 || list.PerPage != 3 || list.NextCursor != "" {
				t.Fatalf("page 2 = total %d, %d items, page %d/%d", list.Total, len(list.Items), list.Page, list.PerPage)
			}
			seen := map[int64]bool{}
			for page := 1; page <= 3; page++ {
				list, err := s.ListNotifications(ctx, lee.ID, kura.ListOptions{Page: page, PerPage: 3})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range list.Items {
					if seen[n.ID] || n.UserID != lee.ID {
						t.Fatalf("page %d: notification %+v repeated or not lee's", page, n)
					}
					seen[n.ID] = true
				}
			}
			if len(seen) != 8 {
				t.Fatalf("read %d notifications over 3 pages; want 8", len(seen))
			}
			past, err := s.ListNotifications(ctx, lee.ID, kura.ListOptions{Page: 9, PerPage: 3})
			if err != nil || len(past.Items) != 0 || past.Items == nil || past.Total != 8 {
				t.Fatalf("page 9 = %+v, %v", past, err)
			}
			other, err := s.ListNotifications(ctx, mia.ID, kura.ListOptions{Page: 1})
			if err != nil || other.Total != 3 || len(other.Items) != 3 {
				t.Fatalf("mia's page 1 = %+v, %v", other, err)
			}
		})

		t.Run("UnknownUserIsEmpty", func(t *testing.T) {
			list, err := s.ListNotifications(ctx, 424242, kura.ListOptions{})
			if err != nil || len(list.Items) != 0 || list.Items == nil || list.NextCursor != "" {
				t.Fatalf("list = %+v, %v", list, err)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.ListNotifications(ctx, lee.ID, kura.ListOptions{Cursor: "garbage"})
			wantCode(t, err, kura.EINVALID)
			_, err = s.ListNotifications(ctx, lee.ID, kura.ListOptions{Limit: 101})
			wantCode(t, err, kura.EINVALID)
			_, err = s.ListNotifications(ctx, lee.ID, kura.ListOptions{Page: 1, Cursor: kura.EncodeCursor(3)})
			wantCode(t, err, kura.EINVALID)
		})
	})
}

func TestNotificationService_UserDeleteCascades(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := store.NewNotificationService(db)
		ctx := context.Background()
		ned := MustCreateUser(t, db, "ned@example.com", "ned")
		ola := MustCreateUser(t, db, "ola@example.com", "ola")
		mustCreateNotification(t, s, ned.ID, "ned-1")
		mustCreateNotification(t, s, ned.ID, "ned-2")
		mustCreateNotification(t, s, ola.ID, "ola-1")
		if err := store.NewUsers(db).DeleteUser(ctx, ned.ID); err != nil {
			t.Fatal(err)
		}
		if n := countNotifications(t, db); n != 1 {
			t.Fatalf("%d notifications left; want ola's one", n)
		}
		list, err := s.ListNotifications(ctx, ned.ID, kura.ListOptions{Page: 1})
		if err != nil || list.Total != 0 {
			t.Fatalf("ned's list = %+v, %v", list, err)
		}
		// The key of a deleted user's notification is free again.
		mustCreateNotification(t, s, ola.ID, "ned-1")
	})
}
