package sqldb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kura-dev/kura"
)

// ReadOnlyTable holds the read-only switch, one row made by kura's
// migration 8: whether the instances refuse writes, why, since when, and
// the switch's generation, which every change raises.
const ReadOnlyTable = "kura_read_only"

// ReadOnlyPollInterval is how often an instance reads the switch, and so
// about how long it takes to apply a change of it.
const ReadOnlyPollInterval = time.Second

// MaxReadOnlyReason bounds the reason given to EnterReadOnly, in
// characters.
const MaxReadOnlyReason = 500

// ReadOnlyMode is the switch as stored: what every instance applies.
type ReadOnlyMode struct {
	// On says that writes are refused.
	On bool `json:"on"`
	// Reason is what EnterReadOnly was told, such as "data move"; "" when
	// off.
	Reason string `json:"reason"`
	// Since is when the switch was last changed (turned on, or off); the
	// migration's time for a switch never changed.
	Since time.Time `json:"since"`
	// Generation counts the changes of the switch: an instance that has
	// applied the current generation has done what On says.
	Generation int64 `json:"generation"`
}

// ReadOnlyState is the switch and where the live instances stand.
type ReadOnlyState struct {
	ReadOnlyMode
	// Acknowledged are the live instances (see ServingWindow) that have
	// applied Generation: with On, they refuse writes and have none under
	// way, HTTP requests or jobs.
	Acknowledged []InstanceAck `json:"acknowledged"`
	// Waiting are the live instances that have not applied it yet.
	Waiting []InstanceAck `json:"waiting"`
}

// InstanceAck is a live instance and the read-only generation it has
// applied.
type InstanceAck struct {
	ID         string    `json:"id"`
	Hostname   string    `json:"hostname"`
	PID        int       `json:"pid"`
	Addr       string    `json:"addr"` // the URL it serves, or "worker"
	Generation int64     `json:"generation"`
	Seen       time.Time `json:"seen"`
}

// String names the instance as an operator finds it: host, pid, address.
func (i InstanceAck) String() string {
	return fmt.Sprintf("%s pid %d on %s", i.Hostname, i.PID, i.Addr)
}

// ReadOnlyTimeoutError is EnterReadOnly's error when its context ended
// before every live instance acknowledged the mode. The mode stays on.
type ReadOnlyTimeoutError struct {
	Generation int64
	Waiting    []InstanceAck // the live instances that did not acknowledge
	Err        error         // the context's error
}

func (e *ReadOnlyTimeoutError) Error() string {
	names := make([]string, len(e.Waiting))
	for i, w := range e.Waiting {
		names[i] = w.String()
	}
	return fmt.Sprintf("read-only mode is on (generation %d), but %d live instance(s) did not acknowledge it in time: %s; "+
		"the mode stays on: wait again (kura db read-only on), stop those instances, or leave the mode (kura db read-only off)",
		e.Generation, len(e.Waiting), strings.Join(names, "; "))
}

func (e *ReadOnlyTimeoutError) Unwrap() error { return e.Err }

// ErrReadOnlyChanged is EnterReadOnly's error when the mode was left, or
// entered anew, while it waited for the instances.
var ErrReadOnlyChanged = errors.New("read-only mode was changed by someone else while waiting for the instances to acknowledge it")

// EnterReadOnly turns read-only mode on, saying why (reason, at most
// MaxReadOnlyReason characters, may be ""), and returns when every live
// instance (a kura_instances row seen within ServingWindow: serve and
// worker processes alike) has acknowledged it: it refuses writes, and the
// writes it had under way (HTTP requests, running jobs) have finished. On
// a mode that is on already it keeps the generation (and the reason, if
// reason is "") and waits again. When ctx ends first it returns a
// *ReadOnlyTimeoutError naming the instances that did not acknowledge,
// and the mode stays on. Errors also: EINVALID (reason), EUNAVAILABLE,
// ErrReadOnlyChanged.
func (db *DB) EnterReadOnly(ctx context.Context, reason string) error {
	if utf8.RuneCountInString(reason) > MaxReadOnlyReason || !utf8.ValidString(reason) {
		return kura.Errorf(kura.EINVALID, "A read-only reason must be valid UTF-8 of at most %d characters.", MaxReadOnlyReason)
	}
	gen, err := db.switchReadOnly(ctx, true, reason)
	if err != nil {
		return fmt.Errorf("enter read-only mode: %w", err)
	}
	return db.awaitReadOnly(ctx, gen)
}

// LeaveReadOnly turns read-only mode off. It does not wait: every instance
// accepts writes again within about ReadOnlyPollInterval. Leaving a mode
// that is off does nothing. Errors: EUNAVAILABLE.
func (db *DB) LeaveReadOnly(ctx context.Context) error {
	if _, err := db.switchReadOnly(ctx, false, ""); err != nil {
		return fmt.Errorf("leave read-only mode: %w", err)
	}
	return nil
}

// switchReadOnly sets the switch to on, raising its generation if that
// changes it, and returns the generation.
func (db *DB) switchReadOnly(ctx context.Context, on bool, reason string) (int64, error) {
	var gen int64
	err := db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE kura_read_only SET is_on = ?, reason = ?, changed_at = ?,
			generation = generation + 1 WHERE one = 1 AND is_on = ?`, on, reason, db.Timestamp(), !on)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 && on && reason != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE kura_read_only SET reason = ? WHERE one = 1`, reason); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, `SELECT generation FROM kura_read_only WHERE one = 1`).Scan(&gen)
	})
	return gen, db.Unavailable(err)
}

// awaitReadOnly polls until every live instance has applied generation
// gen of a mode that is on, or ctx ends.
func (db *DB) awaitReadOnly(ctx context.Context, gen int64) error {
	t := time.NewTicker(ReadOnlyPollInterval / 10)
	defer t.Stop()
	var waiting []InstanceAck
	for {
		st, err := db.ReadOnlyState(ctx)
		if err == nil {
			waiting = st.Waiting
		}
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("enter read-only mode: the mode is on, but waiting for the instances failed: %w", err)
		case err == nil && (!st.On || st.Generation != gen):
			return ErrReadOnlyChanged
		case err == nil && len(st.Waiting) == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return &ReadOnlyTimeoutError{Generation: gen, Waiting: waiting, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// ReadOnlyMode reads the switch: one indexed row, cheap enough for every
// instance to read every ReadOnlyPollInterval. Errors: EUNAVAILABLE.
func (db *DB) ReadOnlyMode(ctx context.Context) (ReadOnlyMode, error) {
	var m ReadOnlyMode
	err := db.Read(ctx, func(q Querier) error {
		return q.QueryRowContext(ctx, `SELECT is_on, reason, changed_at, generation FROM kura_read_only WHERE one = 1`).
			Scan(&m.On, &m.Reason, Time(&m.Since), &m.Generation)
	})
	if err != nil {
		return m, fmt.Errorf("read the read-only switch: %w", err)
	}
	return m, nil
}

// ReadOnlyState reads the switch and which live instances have applied
// its generation. Errors: EUNAVAILABLE.
func (db *DB) ReadOnlyState(ctx context.Context) (ReadOnlyState, error) {
	var st ReadOnlyState
	var err error
	if st.ReadOnlyMode, err = db.ReadOnlyMode(ctx); err != nil {
		return st, err
	}
	live, err := db.liveInstances(ctx)
	if err != nil {
		return st, err
	}
	st.Acknowledged, st.Waiting = []InstanceAck{}, []InstanceAck{}
	for _, i := range live {
		if i.Generation >= st.Generation {
			st.Acknowledged = append(st.Acknowledged, i)
		} else {
			st.Waiting = append(st.Waiting, i)
		}
	}
	return st, nil
}

// liveInstances returns the kura_instances rows seen within ServingWindow
// whose process is not known to be gone (see Serving).
func (db *DB) liveInstances(ctx context.Context) ([]InstanceAck, error) {
	now := db.Timestamp()
	var out []InstanceAck
	err := db.Read(ctx, func(q Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, hostname, pid, addr, started_at, seen_at, read_only_generation
			FROM kura_instances ORDER BY hostname, pid, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i InstanceAck
			var started time.Time
			if err := rows.Scan(&i.ID, &i.Hostname, &i.PID, &i.Addr, Time(&started), Time(&i.Seen), &i.Generation); err != nil {
				return err
			}
			if now.Sub(i.Seen) < ServingWindow && !gone(i.Hostname, i.PID, started) {
				out = append(out, i)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read the instances: %w", err)
	}
	return out, nil
}
