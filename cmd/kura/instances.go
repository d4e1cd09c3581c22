package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// announce records this process in kura_instances as serving the database
// now and every sqldb.HeartbeatInterval, so that kura backup restore
// --force refuses to replace the database under it; the returned stop
// ends the heartbeat and deletes the row. A database without the table
// (not migrated) gets no heartbeat, with a warning.
func (a *app) announce(ctx context.Context, addr string) (stop func(context.Context) error) {
	host, _ := os.Hostname()
	now := time.Now()
	inst := sqldb.Instance{ID: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), now.UnixNano()), Hostname: host,
		PID: os.Getpid(), Addr: addr, Version: kura.Version, Started: now}
	if err := a.db.Announce(ctx, inst); err != nil {
		a.log.Warn("this instance is not recorded as serving (kura backup restore --force cannot see it)", "err", err)
		return func(context.Context) error { return nil }
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(sqldb.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := a.db.Announce(context.WithoutCancel(ctx), inst); err != nil {
					a.log.Warn("instance heartbeat failed", "err", err)
				}
			}
		}
	}()
	// The row is deleted even when the shutdown's deadline has passed, and
	// a database that is gone does not make the shutdown fail: the row then
	// stops counting ServingWindow after the last beat.
	return func(ctx context.Context) error {
		close(done)
		<-finished
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := a.db.Retire(rctx, inst.ID); err != nil {
			a.log.Warn("this instance's row in kura_instances was not deleted", "err", err)
		}
		return nil
	}
}
