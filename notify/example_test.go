package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// delivered passes each notification on to next, then tells the example.
type delivered struct {
	next kura.Notifier
	done chan<- string
}

func (d delivered) Notify(ctx context.Context, n *kura.Notification) error {
	err := d.next.Notify(ctx, n)
	if err == nil {
		d.done <- n.Key
	}
	return err
}

// Example welcomes a new user: registering enqueues the welcome
// notification in the user's transaction, and the worker stores it.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "notify-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema); err != nil {
		fmt.Println(err)
		return
	}

	notifications := store.NewNotificationService(db)
	done := make(chan string, 1)
	ws := jobs.NewWorkers()
	notify.AddWorker(ws, delivered{notify.Store{Notifications: notifications, Logger: quiet}, done}, quiet)
	c, err := jobs.New(db, jobs.Config{Workers: ws, PollInterval: 50 * time.Millisecond, Logger: quiet})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c.Stop(stopCtx)
	}()

	users := accounts.NewUserService(db)
	users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
		return notify.EnqueueTx(ctx, c, tx, notify.Welcome(u))
	}
	u, err := users.CreateUser(ctx, kura.NewUser{Email: "ada@example.com", Username: "ada", Password: "correct horse battery"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("delivered:", <-done == fmt.Sprintf("welcome:%d", u.ID))

	list, err := notifications.ListNotifications(ctx, u.ID, kura.ListOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range list.Items {
		fmt.Println(n.Kind+":", n.Message)
	}
	// Output:
	// delivered: true
	// welcome: Welcome to kura, ada!
}
