package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// InstancesTable is the table where kura servers say that they serve the
// database: one row each, refreshed every HeartbeatInterval.
const InstancesTable = "kura_instances"

// HeartbeatInterval is how often a serving instance refreshes its row;
// ServingWindow is how recently it must have done so to count as serving
// (three missed beats: a server killed without a chance to retire is no
// longer counted after that).
const (
	HeartbeatInterval = 10 * time.Second
	ServingWindow     = 3 * HeartbeatInterval
)

// Instance is a kura server serving the database.
type Instance struct {
	ID       string // unique per process, such as host-pid-start
	Hostname string
	PID      int
	Addr     string // the address it listens on
	Version  string
	Started  time.Time
	// ReadOnlyGeneration is the generation of the read-only switch the
	// instance has applied (see EnterReadOnly): its acknowledgement,
	// written with each beat.
	ReadOnlyGeneration int64
}

// Announce records inst as serving now, inserting its row or refreshing
// it, with the read-only generation it has applied. Call it when serving
// starts, every HeartbeatInterval, and when it has applied a change of the
// read-only switch.
func (db *DB) Announce(ctx context.Context, inst Instance) error {
	now := db.Timestamp()
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE kura_instances SET seen_at = ?, read_only_generation = ? WHERE id = ?`, now, inst.ReadOnlyGeneration, inst.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO kura_instances (id, hostname, pid, addr, version, started_at, seen_at, read_only_generation)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inst.ID, inst.Hostname, inst.PID, inst.Addr, inst.Version, inst.Started, now, inst.ReadOnlyGeneration)
		return err
	})
}

// Retire deletes the row of the instance id: it no longer serves.
func (db *DB) Retire(ctx context.Context, id string) error {
	_, err := db.Writer().ExecContext(ctx, db.Rebind(`DELETE FROM kura_instances WHERE id = ?`), id)
	return err
}

// Serving describes the instances of the database q reads that were seen
// within window of now, such as "web-1 pid 42 on :8080 (seen 3s ago)". A
// row of this machine whose process no longer runs (killed before it
// could delete its row, or its pid since taken by a younger process) is
// not serving, whatever its last beat; a row of another machine counts
// until its beats are window old.
func Serving(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, now time.Time, window time.Duration) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT hostname, pid, addr, started_at, seen_at FROM kura_instances`)
	if err != nil {
		return nil, fmt.Errorf("read serving instances: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var host, addr string
		var pid int
		var started, seen time.Time
		if err := rows.Scan(&host, &pid, &addr, Time(&started), Time(&seen)); err != nil {
			return nil, err
		}
		if ago := now.Sub(seen); ago < window && !gone(host, pid, started) {
			out = append(out, fmt.Sprintf("%s pid %d on %s (seen %s ago)", host, pid, addr, max(ago, 0).Round(time.Second)))
		}
	}
	return out, rows.Err()
}
