package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// setup wires what kura serve wires: users whose creation enqueues the
// welcome notification, and a started worker delivering with n (nil: the
// built-in Store).
func setup(t *testing.T, db *sqldb.DB, n kura.Notifier) (*accounts.UserService, *store.NotificationService, *jobs.Client) {
	t.Helper()
	log := dbtest.Logger(t, slog.LevelError)
	store := store.NewNotificationService(db)
	if n == nil {
		n = notify.Store{Notifications: store, Logger: log}
	}
	ws := jobs.NewWorkers()
	notify.AddWorker(ws, n, log)
	c, err := jobs.New(db, jobs.Config{
		Workers: ws, PruneInterval: -1, PollInterval: 50 * time.Millisecond,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.Stop(ctx)
	})
	users := accounts.NewUserService(db)
	users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
		return notify.EnqueueTx(ctx, c, tx, notify.Welcome(u))
	}
	return users, store, c
}

func newUser(name string) kura.NewUser {
	return kura.NewUser{Email: name + "@example.com", Username: name, Password: "password-1"}
}

// waitNotifications waits until the user has want notifications.
func waitNotifications(t *testing.T, store kura.NotificationService, userID int64, want int) []*kura.Notification {
	t.Helper()
	var items []*kura.Notification
	var err error
	testenv.Wait(t, 0, fmt.Sprintf("user %d to have %d notifications", userID, want), func() bool {
		l, lerr := store.ListNotifications(context.Background(), userID, kura.ListOptions{})
		if err = lerr; err != nil {
			return true
		}
		items = l.Items
		return len(items) == want
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// waitState waits until the job is in state.
func waitState(t *testing.T, c *jobs.Client, id int64, want jobs.State) {
	t.Helper()
	var row *jobs.Row
	var err error
	testenv.Wait(t, 0, fmt.Sprintf("job %d to be %s", id, want), func() bool {
		row, err = c.Get(context.Background(), id)
		return err != nil || row.State == want
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWelcomeOnRegister(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		users, store, c := setup(t, db, nil)
		ctx := context.Background()
		u, err := users.CreateUser(ctx, newUser("ada"))
		if err != nil {
			t.Fatal(err)
		}
		items := waitNotifications(t, store, u.ID, 1)
		n := items[0]
		if n.Kind != "welcome" || n.Key != fmt.Sprintf("welcome:%d", u.ID) || n.Message != "Welcome to kura, ada!" {
			t.Errorf("notification: %+v", n)
		}
		jl, err := c.List(ctx, jobs.ListOptions{Kinds: []string{notify.Args{}.Kind()}})
		if err != nil {
			t.Fatal(err)
		}
		if len(jl) != 1 {
			t.Fatalf("%d delivery jobs, want 1", len(jl))
		}

		// A registration that fails leaves neither a user nor a job.
		if _, err := users.CreateUser(ctx, newUser("ada")); kura.ErrorCode(err) != kura.ECONFLICT {
			t.Fatalf("duplicate user: %v", err)
		}
		if jl, _ := c.List(ctx, jobs.ListOptions{Kinds: []string{notify.Args{}.Kind()}}); len(jl) != 1 {
			t.Fatalf("%d delivery jobs after a failed registration, want 1", len(jl))
		}
	})
}

func TestEnqueueRolledBackWithTheUser(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		users, _, c := setup(t, db, nil)
		ctx := context.Background()
		enqueue := users.OnCreate
		errLater := errors.New("a later step failed")
		users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
			if err := enqueue(ctx, tx, u); err != nil {
				return err
			}
			return errLater
		}
		if _, err := users.CreateUser(ctx, newUser("bob")); !errors.Is(err, errLater) {
			t.Fatalf("create: %v", err)
		}
		if jl, _ := c.List(ctx, jobs.ListOptions{}); len(jl) != 0 {
			t.Fatalf("%d jobs survive a rolled back registration", len(jl))
		}
		if l, _ := users.ListUsers(ctx, kura.ListOptions{}); len(l.Items) != 0 {
			t.Fatalf("%d users survive", len(l.Items))
		}
	})
}

// flaky fails its first calls, then stores.
type flaky struct {
	fails atomic.Int32
	next  kura.Notifier
}

func (f *flaky) Notify(ctx context.Context, n *kura.Notification) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("mail server unavailable")
	}
	return f.next.Notify(ctx, n)
}

func TestDeliveryRetriedAndIdempotent(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		store := store.NewNotificationService(db)
		f := &flaky{next: notify.Store{Notifications: store, Logger: dbtest.Logger(t, slog.LevelError)}}
		f.fails.Store(2)
		users, _, c := setup(t, db, f)
		u, err := users.CreateUser(ctx, newUser("cyd"))
		if err != nil {
			t.Fatal(err)
		}
		waitNotifications(t, store, u.ID, 1)

		// The same notification delivered again (a retry after a crash)
		// is stored once.
		row, err := c.Enqueue(ctx, notify.Welcome(u), nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, row.ID, jobs.StateCompleted)
		waitNotifications(t, store, u.ID, 1)
	})
}

func TestDeletedUserIsDone(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		_, _, c := setup(t, db, nil)
		row, err := c.Enqueue(ctx, notify.Args{UserID: 424242, Type: "welcome", Key: "welcome:424242", Message: "hi"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, c, row.ID, jobs.StateCompleted)
	})
}

func TestEnqueueValidates(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	c, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		return notify.EnqueueTx(context.Background(), c, tx, notify.Args{UserID: 1, Type: "welcome"})
	})
	if kura.ErrorCode(err) != kura.EINVALID {
		t.Fatalf("enqueue without key and message: %v, want EINVALID", err)
	}
}
