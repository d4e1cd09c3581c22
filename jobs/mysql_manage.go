package jobs

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The MySQL queue's management: get, list, retry, cancel, prune, counts.

func (b *mysqlBackend) get(ctx context.Context, id int64) (*Row, error) {
	return getRow(ctx, b.db.Reader(), id)
}

func (b *mysqlBackend) list(ctx context.Context, o ListOptions) ([]*Row, error) {
	var where []string
	var args []any
	if len(o.States) > 0 {
		where = append(where, "state IN ("+sqldb.Placeholders(len(o.States))+")")
		for _, s := range o.States {
			args = append(args, string(s))
		}
	}
	if len(o.Kinds) > 0 {
		where = append(where, "kind IN ("+sqldb.Placeholders(len(o.Kinds))+")")
		for _, k := range o.Kinds {
			args = append(args, k)
		}
	}
	q := "SELECT " + jobColumns + " FROM kura_jobs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	return queryRows(ctx, b.db.Reader(), q, append(args, o.Limit)...)
}

// retry makes a job that is not running available now (a scheduled_at
// already past is kept, so it keeps its place), with one more attempt if
// it has none left.
func (b *mysqlBackend) retry(ctx context.Context, id int64) (*Row, error) {
	row, err := b.update(ctx, id, mysqlRetry, b.now(), id)
	if err != nil {
		return nil, err
	}
	if row.State == StateAvailable {
		b.wake()
	}
	return row, nil
}

// cancel cancels a job that has not finished. A running one is cancelled
// at once in the table, so its attempt's end is not recorded over it; its
// context ends now if this client runs it, and at the next poll if another
// client, in this process or another, does.
func (b *mysqlBackend) cancel(ctx context.Context, id int64) (*Row, error) {
	row, err := b.update(ctx, id, mysqlCancel, b.now(), id)
	if err != nil {
		return nil, err
	}
	if row.State == StateCancelled {
		b.cancelAttempt(id, row.Attempt)
	}
	return row, nil
}

// update runs the UPDATE q of job id and reads the job back, in one
// transaction. Errors: ENOTFOUND.
func (b *mysqlBackend) update(ctx context.Context, id int64, q string, args ...any) (*Row, error) {
	var row *Row
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		var err error
		row, err = getRow(ctx, tx, id)
		return err
	})
	return row, err
}

func (b *mysqlBackend) prune(ctx context.Context, finishedBefore, discardedBefore time.Time) (int64, error) {
	fin, dis := finishedBefore.UTC(), discardedBefore.UTC()
	var total int64
	for {
		var n int64
		err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, mysqlPrune, fin, dis)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

func (b *mysqlBackend) counts(ctx context.Context) (Counts, error) {
	return countStates(ctx, b.db, "kura_jobs")
}

// readCommittedTx runs fn in a READ COMMITTED transaction on the writer:
// its locking statements lock the rows they change, not the gaps and rows
// they passed over (REPEATABLE READ, the default, would).
func (b *mysqlBackend) readCommittedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := b.db.Writer().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
