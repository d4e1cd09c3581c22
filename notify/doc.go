// Package notify delivers notifications to users off the request path: a
// change enqueues a delivery job in its own transaction (EnqueueTx), and a
// worker hands the notification to a kura.Notifier. The built-in Notifier,
// Store, writes it to the notifications table and logs it; an email or
// webhook sender is another Notifier.
//
// Deliveries are at least once (a job is retried after a failure or a
// crash), so each notification carries an idempotency key: Store writes one
// row per key, and a sender passes the key to its provider.
//
// # Wiring
//
// Register the delivery worker with the job client's workers, and enqueue
// the notification in the transaction of the change that causes it; for
// the welcome notification that is the user's creation:
//
//	notifications := store.NewNotificationService(db)
//	ws := jobs.NewWorkers()
//	notify.AddWorker(ws, notify.Store{Notifications: notifications, Logger: logger}, logger)
//	c, err := jobs.New(db, jobs.Config{Workers: ws, Logger: logger})
//	if err != nil {
//		return err
//	}
//	users := accounts.NewUserService(db)
//	users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
//		return notify.EnqueueTx(ctx, c, tx, notify.Welcome(u))
//	}
//
// Start the client (jobs.Client.Start) in the process that delivers; a
// process that only serves requests enqueues with a client made without
// workers. A user who registers is welcomed once, even if the delivery
// runs twice; if the registration fails, nothing is delivered.
package notify
