package datamove

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/kura-dev/kura/sqldb"
)

// source reads the database a move copies from, in one snapshot: a
// read-only transaction, so that every table is read as of one moment
// and the references between them hold.
type source struct {
	q querier
	d sqldb.Dialect
}

// selectSQL is the query that reads tb's rows from one side in key order,
// after the key given (when after), below hi on the key's first column
// (when ranged), up to limit rows (0: all).
func selectSQL(tb *table, db *sqldb.DB, fromSource, after, ranged bool, limit int) string {
	d := db.Dialect()
	sel, name, where := tb.dstSel, tb.dst, tb.dstWhere
	if fromSource {
		sel, name, where = tb.srcSel, tb.src, tb.srcWhere
	}
	var conds []string
	if where != "" {
		conds = append(conds, where)
	}
	keys := make([]string, len(tb.key))
	for i, k := range tb.key {
		keys[i] = quote(d, tb.cols[k].name)
	}
	if after {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")
		if len(keys) == 1 {
			conds = append(conds, keys[0]+" > ?")
		} else {
			conds = append(conds, "("+strings.Join(keys, ", ")+") > ("+ph+")")
		}
	}
	if ranged {
		conds = append(conds, keys[0]+" >= ? AND "+keys[0]+" < ?")
	}
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quote(d, name)
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY " + strings.Join(keys, ", ")
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	return db.Rebind(q)
}

// scanRows reads rows of tb from query and hands each, normalized, to fn;
// the slice fn gets is its own.
func scanRows(ctx context.Context, q querier, tb *table, query string, args []any, fn func([]any) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := len(tb.cols)
	raw := make([]any, n)
	ptrs := make([]any, n)
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		vals := make([]any, n)
		for i, v := range raw {
			if vals[i], err = normalize(v, tb.cols[i].kind); err != nil {
				return fmt.Errorf("column %s: %w", tb.cols[i].name, err)
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// keyOf returns the key values of a row.
func keyOf(tb *table, row []any) []any {
	k := make([]any, len(tb.key))
	for i, c := range tb.key {
		k[i] = row[c]
	}
	return k
}

// chunk is rows read from the source, in key order, and its number.
type chunk struct {
	seq  int64
	rows [][]any
	err  error
}

// writers returns how many transactions write a table's chunks at once:
// several on a server, where each COPY or INSERT has a backend of its own,
// when a rerun can tell the chunks apart by a single integer key; one on
// SQLite, which has one writer.
func (m *mover) writers(tb *table) int {
	if m.to.d == sqldb.SQLite || len(tb.key) != 1 || tb.cols[tb.key[0]].kind != kInt || tb.selfRef {
		return 1
	}
	return m.opts.Writers
}

// copyTable copies tb's rows after its checkpoint, chunk by chunk, each in
// a transaction with its checkpoint, and marks the table done.
func (m *mover) copyTable(ctx context.Context, tb *table) error {
	cp := m.checkpoint(tb.name)
	if cp.done {
		return nil
	}
	if err := m.resumeTable(ctx, tb, cp); err != nil {
		return err
	}
	total, err := m.count(ctx, tb)
	if err != nil {
		return fmt.Errorf("count the rows of %s: %w", tb.src, err)
	}
	m.progress(tb.name, cp.rows, max(total, cp.rows))
	// A table copied whole in this snapshot has its source's sums summed
	// as it is read: the verification then reads only the target.
	var known *knownSums
	if cp.lastKey == nil {
		r, err := m.rangesOf(ctx, tb)
		if err != nil {
			return fmt.Errorf("key ranges of %s: %w", tb.src, err)
		}
		known = &knownSums{r: r, s: sums{}}
	}
	g, gctx := errgroup.WithContext(ctx)
	chunks := make(chan chunk, 2)
	g.Go(func() error { return m.readChunks(gctx, tb, cp, known, chunks) })
	var copied atomic.Int64
	copied.Store(cp.rows)
	for range m.writers(tb) {
		g.Go(func() error {
			for c := range chunks {
				next := checkpoint{lastKey: keyOf(tb, c.rows[len(c.rows)-1]), rows: int64(len(c.rows))}
				err := m.to.retry(gctx, func(tx ttx) error {
					if err := tx.insert(gctx, tb, c.rows); err != nil {
						return err
					}
					return saveChunk(gctx, tx, m.sourceID, tb.name, c.seq, next, c.seq == 1)
				})
				if err != nil {
					return fmt.Errorf("write %s to the target: %w", tb.dst, m.targetErr(err))
				}
				m.progress(tb.name, copied.Add(next.rows), max(total, copied.Load()))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	done := checkpoint{lastKey: nil, rows: copied.Load(), done: true}
	err = m.to.retry(ctx, func(tx ttx) error {
		if err := clearChunks(ctx, tx, tb.name); err != nil {
			return err
		}
		return saveCheckpoint(ctx, tx, m.sourceID, tb.name, done)
	})
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", tb.name, m.targetErr(err))
	}
	m.setCheckpoint(tb.name, done, known)
	return nil
}

// resumeTable readies a table an earlier run began: the rows of chunks it
// committed after a gap are deleted from the target, and its chunks'
// checkpoints become one, the start, that sums up the prefix.
func (m *mover) resumeTable(ctx context.Context, tb *table, cp checkpoint) error {
	if cp.lastKey == nil && !cp.beyond {
		return nil
	}
	err := m.to.retry(ctx, func(tx ttx) error {
		if cp.beyond {
			q := "DELETE FROM " + quote(m.to.d, tb.dst)
			var args []any
			if cp.lastKey != nil {
				q += " WHERE " + quote(m.to.d, tb.cols[tb.key[0]].name) + " > ?"
				args = cp.lastKey[:1]
			}
			if err := tx.exec(ctx, q, args...); err != nil {
				return err
			}
		}
		if err := clearChunks(ctx, tx, tb.name); err != nil {
			return err
		}
		if cp.lastKey == nil {
			return nil
		}
		return saveChunk(ctx, tx, m.sourceID, tb.name, cp.seq, checkpoint{lastKey: cp.lastKey, rows: cp.rows}, true)
	})
	if err != nil {
		return fmt.Errorf("resume %s on the target: %w", tb.dst, m.targetErr(err))
	}
	return nil
}

// readChunks reads tb from the source after the checkpoint, a chunk at a
// time, onto out, numbered after the checkpoint's, and closes it.
func (m *mover) readChunks(ctx context.Context, tb *table, cp checkpoint, known *knownSums, out chan<- chunk) error {
	defer close(out)
	h := &hasher{prec: m.prec}
	key, seq := cp.lastKey, cp.seq
	for {
		var rows [][]any
		q := selectSQL(tb, m.fromDB, true, key != nil, false, m.opts.ChunkRows)
		m.srcMu.Lock()
		err := scanRows(ctx, m.from.q, tb, q, key, func(r []any) error {
			if known != nil {
				known.s.add(known.r.bucket(r[tb.key[0]]), h.row(tb, r))
			}
			rows = append(rows, r)
			return nil
		})
		m.srcMu.Unlock()
		if err != nil {
			return fmt.Errorf("read %s from the source: %w", tb.src, err)
		}
		if len(rows) == 0 {
			return nil
		}
		seq++
		key = keyOf(tb, rows[len(rows)-1]) // before the writer turns the rows into the target's values
		select {
		case out <- chunk{seq: seq, rows: rows}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// count returns how many rows of tb the source holds.
func (m *mover) count(ctx context.Context, tb *table) (int64, error) {
	q := "SELECT COUNT(*) FROM " + quote(m.from.d, tb.src)
	if tb.srcWhere != "" {
		q += " WHERE " + tb.srcWhere
	}
	var n int64
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	err := m.from.q.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
