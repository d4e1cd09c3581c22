package jobs

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// Heartbeats. A started client with workers has a row in kura_job_clients
// (Schema's version 2) under its id, the holder its workers record in each
// job they take (River's attempted_by, whose last entry is River's client
// ID, set to this id; the MySQL queue's attempted_by). It refreshes the row
// every Config.Heartbeat with the database's clock, and deletes it when it
// stops with every job handed back. A client whose row has not been
// refreshed for heartbeatsMissed beats is dead: it was killed, its machine
// stopped, or it cannot reach the database.
//
// Every started client, after each beat, lists the dead clients (one
// query on a table of a row per process) and releases their running jobs:
// the attempt is recorded as interrupted and the job is available again
// at once, whatever its kind's deadline (discarded if it was its last
// attempt, cancelled if a cancellation was asked for). It then deletes the
// dead client's row. A job whose holder has no row at all (taken before
// heartbeats existed, or by a client whose stop could not hand it back
// and whose row was deleted since) is left to the RescueAfter rescue.
//
// A client judges others only after heartbeatsMissed beats of its own in
// a row, none late: after an outage of the database, or a stall of this
// process, every live client has beaten again before anyone is judged.

// heartbeatsMissed is how many heartbeats a client may miss before its
// jobs are released.
const heartbeatsMissed = 3

// Holder is a client with workers as its heartbeat shows it: the process
// holding the jobs it runs.
type Holder struct {
	ID       string
	Hostname string
	PID      int
	// SeenAgo is the time since its last heartbeat, by the database's
	// clock.
	SeenAgo time.Duration
	// Alive reports whether its last heartbeat is recent enough (3 of its
	// Config.Heartbeat) for its running jobs to be left to it.
	Alive bool
}

// String describes h for a person, such as "web-1, pid 4242 (seen 2s
// ago)".
func (h *Holder) String() string {
	return fmt.Sprintf("%s, pid %d (seen %s ago)", h.Hostname, h.PID, h.SeenAgo.Round(time.Second))
}

// newClientID returns a client's id: its host, its pid and a random
// suffix, at most 100 bytes (River's limit on a client ID).
func newClientID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown-host"
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return fmt.Sprintf("%.60s-%d-%s", host, os.Getpid(), hex.EncodeToString(suffix))
}

// clients runs the statements of the heartbeat table on one database.
type clients struct {
	db  DB
	sql heartSQL
	now func() time.Time
}

func newClients(db DB, now func() time.Time) clients {
	return clients{db: db, sql: heartStatements(db.Dialect()), now: now}
}

// beat records that client id is alive now, for life.
func (cl clients) beat(ctx context.Context, id string, life time.Duration) error {
	host, _ := os.Hostname()
	if len(host) > 255 {
		host = host[:255]
	}
	_, err := cl.db.Writer().ExecContext(ctx, cl.sql.beat, cl.sql.beatArgs(id, host, os.Getpid(), life)...)
	return err
}

// retire deletes client id's row.
func (cl clients) retire(ctx context.Context, id string) error {
	_, err := cl.db.Writer().ExecContext(ctx, cl.sql.retire, id)
	return err
}

// holder returns client id, or an ENOTFOUND error.
func (cl clients) holder(ctx context.Context, id string) (*Holder, error) {
	h := &Holder{ID: id}
	var ago float64
	err := cl.db.Reader().QueryRowContext(ctx, cl.sql.holder, id).Scan(&h.Hostname, &h.PID, &ago, &h.Alive)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kura.Errorf(kura.ENOTFOUND, "No heartbeat of the job client %s.", id)
	}
	if err != nil {
		return nil, err
	}
	h.SeenAgo = seconds(ago)
	return h, nil
}

// dead returns the dead clients but self.
func (cl clients) dead(ctx context.Context, self string) ([]*Holder, error) {
	rows, err := cl.db.Reader().QueryContext(ctx, cl.sql.dead, self)
	if err != nil {
		return nil, err
	}
	return sqldb.ScanAll(rows, func(s sqldb.Scanner) (*Holder, error) {
		var h Holder
		var ago float64
		err := s.Scan(&h.ID, &h.Hostname, &h.PID, &ago)
		h.SeenAgo = seconds(ago)
		return &h, err
	})
}

// releaseOf releases the running jobs of the dead client id, then deletes
// its row if it holds no running job, and returns how many it released.
func (cl clients) releaseOf(ctx context.Context, id string) (int64, error) {
	n, err := cl.release(ctx, cl.sql.releaseOf, id)
	if err != nil {
		return 0, err
	}
	_, err = cl.db.Writer().ExecContext(ctx, cl.sql.forget, id, id)
	return n, err
}

// releaseJob releases job id if it is running and its holder is dead, and
// reports whether it did.
func (cl clients) releaseJob(ctx context.Context, id int64) (bool, error) {
	n, err := cl.release(ctx, cl.sql.releaseJob, id)
	return n > 0, err
}

func (cl clients) release(ctx context.Context, q string, key any) (int64, error) {
	res, err := cl.db.Writer().ExecContext(ctx, q, cl.sql.releaseArgs(cl.now(), interruptedMessage, key)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func seconds(s float64) time.Duration { return max(time.Duration(s*float64(time.Second)), 0) }

// heart is the loop of a started client: it beats every Config.Heartbeat
// and, once healthy, releases the jobs of dead clients.
type heart struct {
	cl       clients
	id       string
	every    time.Duration
	log      *slog.Logger
	released func() // called after a release, to take the jobs at once

	stop context.CancelFunc
	done chan struct{}
}

// life is how long a beat keeps the client alive.
func (h *heart) life() time.Duration { return heartbeatsMissed * h.every }

// first records the beat of a start.
func (h *heart) first(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout())
	defer cancel()
	if err := h.cl.beat(ctx, h.id, h.life()); err != nil {
		return fmt.Errorf("record this client's heartbeat in %s (created by jobs.Schema: run the migrations): %w", clientsTable, err)
	}
	return nil
}

// timeout bounds one statement of the loop.
func (h *heart) timeout() time.Duration { return max(h.life(), time.Second) }

// start runs the loop until halt or until ctx ends.
func (h *heart) start(ctx context.Context) {
	ctx, h.stop = context.WithCancel(ctx)
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		h.loop(ctx)
	}()
}

// halt stops the loop and waits for it; the row stays.
func (h *heart) halt() {
	if h.stop == nil {
		return
	}
	h.stop()
	<-h.done
	h.stop = nil
}

// retire deletes the row, within a short time even if ctx has ended.
func (h *heart) retire(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := h.cl.retire(ctx, h.id); err != nil {
		h.log.Warn("jobs: this client's heartbeat was not deleted; it expires by itself", "client", h.id, "err", err)
	}
}

func (h *heart) loop(ctx context.Context) {
	t := time.NewTicker(h.every)
	defer t.Stop()
	streak, last, failing := 1, time.Now(), false // the first beat was Start's
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, h.timeout())
		err := h.cl.beat(bctx, h.id, h.life())
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				h.log.Warn("jobs: heartbeat failed; if it keeps failing, other processes release this one's running jobs",
					"client", h.id, "after", h.life(), "err", err)
			}
			streak, failing = 0, true
			continue
		}
		if failing {
			h.log.Info("jobs: heartbeat recorded again", "client", h.id)
			failing = false
		}
		now := time.Now()
		if now.Sub(last) > 2*h.every {
			streak = 0 // a late beat: others may have missed theirs too
		}
		streak, last = streak+1, now
		if streak >= heartbeatsMissed {
			h.releaseDead(ctx)
		}
	}
}

// releaseDead releases the running jobs of every dead client.
func (h *heart) releaseDead(loopCtx context.Context) {
	ctx, cancel := context.WithTimeout(loopCtx, h.timeout())
	defer cancel()
	dead, err := h.cl.dead(ctx, h.id)
	for _, d := range dead {
		var n int64
		if n, err = h.cl.releaseOf(ctx, d.ID); err != nil {
			break
		}
		if n > 0 {
			h.log.Warn("jobs: released the running jobs of a process that stopped beating",
				"jobs", n, "client", d.ID, "host", d.Hostname, "pid", d.PID, "seen_ago", d.SeenAgo.Round(time.Millisecond))
			h.released()
		}
	}
	if err != nil && loopCtx.Err() == nil {
		h.log.Warn("jobs: release the jobs of dead processes", "err", err)
	}
}
