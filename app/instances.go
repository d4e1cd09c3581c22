package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// instance is this process as kura_instances records it, and the
// database's read-only switch as this process applies it. Its loop reads
// the switch every sqldb.ReadOnlyPollInterval and, once apply has done what
// a new generation says, records that generation in the process's row:
// the acknowledgement kura db read-only on waits for. The row is refreshed
// every sqldb.HeartbeatInterval besides, so that kura backup restore
// --force refuses to replace the database under a live instance.
type instance struct {
	a     *App
	row   sqldb.Instance
	apply func(ctx context.Context, on bool) error

	lastBeat time.Time
	failing  bool               // the switch could not be read at the last look
	cancel   context.CancelFunc // ends the loop, and an apply under way
	finished chan struct{}
}

// startInstance records this process in kura_instances as serving addr
// (a URL, or "worker"), reads the read-only switch and applies it with
// apply, so that a process that starts while the mode is on starts
// read-only, acknowledges it, and keeps both up until halt. The row is
// written before the switch is read: kura db read-only on, which raises
// the switch's generation and then waits for every live row, either sees
// this row and waits for it, or raised the generation before this read.
// A database where the row cannot be written gets no heartbeat, with a
// warning; one where the switch cannot be read fails the start.
func (a *App) startInstance(ctx context.Context, addr string, apply func(context.Context, bool) error) (*instance, error) {
	host, _ := os.Hostname()
	now := time.Now()
	in := &instance{a: a, apply: apply, finished: make(chan struct{}),
		row: sqldb.Instance{ID: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), now.UnixNano()), Hostname: host,
			PID: os.Getpid(), Addr: addr, Version: kura.Version, Started: now}}
	if err := in.beat(ctx); err != nil {
		a.log.Warn("this instance is not recorded as serving (kura backup restore --force and kura db read-only on cannot see it)", "err", err)
	}
	mode, err := a.db.ReadOnlyMode(ctx)
	if err == nil {
		err = in.set(ctx, mode)
	}
	if err != nil {
		in.deleteRow(ctx)
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	go in.loop(lctx)
	return in, nil
}

// beat writes the row: when it was seen, and the read-only generation it
// has applied.
func (in *instance) beat(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sqldb.HeartbeatInterval)
	defer cancel()
	in.lastBeat = time.Now()
	return in.a.db.Announce(bctx, in.row)
}

// set applies mode, within KURA_SHUTDOWN_TIMEOUT (writes under way to
// finish, running jobs to finish or be handed back), then acknowledges
// its generation.
func (in *instance) set(ctx context.Context, mode sqldb.ReadOnlyMode) error {
	if mode.On {
		in.a.log.Warn("read-only mode is on: writes answer 503 read_only and no jobs are worked", "reason", mode.Reason, "generation", mode.Generation)
	} else if in.a.readOnly.Load() {
		in.a.log.Info("read-only mode is off: writes are accepted again", "generation", mode.Generation)
	}
	actx, cancel := context.WithTimeout(ctx, in.a.cfg.ShutdownTimeout.D())
	defer cancel()
	if err := in.apply(actx, mode.On); err != nil {
		return fmt.Errorf("apply read-only mode %s (generation %d): %w", onOff(mode.On), mode.Generation, err)
	}
	in.row.ReadOnlyGeneration = mode.Generation
	if err := in.beat(ctx); err != nil {
		return fmt.Errorf("acknowledge read-only mode %s (generation %d): %w", onOff(mode.On), mode.Generation, err)
	}
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// loop reads the switch every sqldb.ReadOnlyPollInterval, applies a new
// generation and beats every sqldb.HeartbeatInterval, until ctx ends
// (halt).
func (in *instance) loop(ctx context.Context) {
	defer close(in.finished)
	t := time.NewTicker(sqldb.ReadOnlyPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mode, err := in.a.db.ReadOnlyMode(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil:
			if !in.failing {
				in.a.log.Warn("the read-only switch cannot be read; this instance keeps its mode", "err", err)
			}
			in.failing = true
			continue
		case in.failing:
			in.a.log.Info("the read-only switch is read again")
			in.failing = false
		}
		if mode.Generation != in.row.ReadOnlyGeneration {
			if err := in.set(ctx, mode); err != nil && ctx.Err() == nil {
				in.a.log.Warn("read-only mode not acknowledged; trying again", "err", err)
			}
			continue
		}
		if time.Since(in.lastBeat) >= sqldb.HeartbeatInterval {
			if err := in.beat(ctx); err != nil {
				in.a.log.Warn("instance heartbeat failed", "err", err)
			}
		}
	}
}

// halt stops the loop, ending an apply under way (running jobs are then
// handed back): the switch is no longer applied. Call it first on
// shutdown, so that nothing starts the job workers again while they stop.
func (in *instance) halt(context.Context) error {
	in.cancel()
	<-in.finished
	return nil
}

// retire halts the loop and deletes the row, even when the shutdown's
// deadline has passed; a database that is gone does not make the shutdown
// fail: the row then stops counting sqldb.ServingWindow after the last
// beat.
func (in *instance) retire(ctx context.Context) error {
	in.halt(ctx)
	in.deleteRow(ctx)
	return nil
}

func (in *instance) deleteRow(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := in.a.db.Retire(rctx, in.row.ID); err != nil {
		in.a.log.Warn("this instance's row in kura_instances was not deleted", "err", err)
	}
}
