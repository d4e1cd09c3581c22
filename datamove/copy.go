package datamove

import (
	"context"
	"fmt"
	"strings"

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

// chunk is rows read from the source, in key order.
type chunk struct {
	rows [][]any
	err  error
}

// copyTable copies tb's rows after its checkpoint, a chunk per
// transaction with its checkpoint, and marks it done.
func (m *mover) copyTable(ctx context.Context, tb *table) error {
	cp := m.checkpoints[tb.name]
	if cp.done {
		return nil
	}
	total, err := m.count(ctx, tb)
	if err != nil {
		return fmt.Errorf("count the rows of %s: %w", tb.src, err)
	}
	m.progress(tb.name, cp.rows, max(total, cp.rows))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 2)
	go m.readChunks(ctx, tb, cp.lastKey, chunks)
	for c := range chunks {
		if c.err != nil {
			return fmt.Errorf("read %s from the source: %w", tb.src, c.err)
		}
		if len(c.rows) == 0 {
			break
		}
		next := checkpoint{lastKey: keyOf(tb, c.rows[len(c.rows)-1]), rows: cp.rows + int64(len(c.rows))}
		err := m.to.inTx(ctx, func(tx ttx) error {
			if err := tx.insert(ctx, tb, c.rows); err != nil {
				return err
			}
			return saveCheckpoint(ctx, tx, m.sourceID, tb.name, next)
		})
		if err != nil {
			return fmt.Errorf("write %s to the target: %w", tb.dst, m.targetErr(err))
		}
		cp = next
		m.progress(tb.name, cp.rows, max(total, cp.rows))
	}
	cp.done = true
	err = m.to.inTx(ctx, func(tx ttx) error { return saveCheckpoint(ctx, tx, m.sourceID, tb.name, cp) })
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", tb.name, m.targetErr(err))
	}
	m.checkpoints[tb.name] = cp
	return nil
}

// readChunks reads tb from the source after key, a chunk at a time, onto
// out, and closes it after an empty chunk or an error.
func (m *mover) readChunks(ctx context.Context, tb *table, key []any, out chan<- chunk) {
	defer close(out)
	for {
		var rows [][]any
		var args []any
		if key != nil {
			args = key
		}
		q := selectSQL(tb, m.fromDB, true, key != nil, false, m.opts.ChunkRows)
		err := scanRows(ctx, m.from.q, tb, q, args, func(r []any) error { rows = append(rows, r); return nil })
		select {
		case out <- chunk{rows: rows, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil || len(rows) == 0 {
			return
		}
		key = keyOf(tb, rows[len(rows)-1])
	}
}

// count returns how many rows of tb the source holds.
func (m *mover) count(ctx context.Context, tb *table) (int64, error) {
	q := "SELECT COUNT(*) FROM " + quote(m.from.d, tb.src)
	if tb.srcWhere != "" {
		q += " WHERE " + tb.srcWhere
	}
	var n int64
	err := m.from.q.QueryRowContext(ctx, q).Scan(&n)
	return n, err
}
