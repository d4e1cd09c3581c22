package datamove

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The cut-over copies what changed since the last pass without reading
// every row: the writes stopped, a table whose rows all matched in that
// pass, keyed by an integer, is read only where it can have changed:
//
//   - key ranges whose row count changed (deletes; an index-only count per
//     range),
//   - keys past the largest the pass saw (inserts: kura's keys grow and
//     are never reused),
//   - rows whose updated_at is at or past the largest the pass saw, less
//     updatedSlack (updates: kura's triggers move updated_at on every
//     update), in a table that has that column.
//
// A table with updates and no updated_at, which no declared set of
// appendOnly tables names, is compared whole again. What is rewritten is
// read back from the target and compared.

// updatedSlack covers the writes whose updated_at was read before the last
// pass's snapshot but that committed after it: a transaction's time is
// taken when it begins.
const updatedSlack = 10 * time.Second

// appendOnly are kura's tables whose rows are inserted and deleted, never
// updated.
var appendOnly = map[string]bool{"sessions": true, "notifications": true}

// passState is what the last pass knew of a table whose rows all matched.
type passState struct {
	r         ranges
	sums      sums      // both sides', equal
	maxKey    int64     // the largest first key
	watermark time.Time // the largest updated_at; zero without the column
	updated   int       // the updated_at column's index in cols; -1 without
}

// remember keeps what the pass knew of tb, in the current snapshot.
func (m *mover) remember(ctx context.Context, tb *table, r ranges, ss sums) {
	if r.width == 0 || len(tb.key) != 1 {
		return
	}
	st := &passState{r: r, sums: ss, updated: -1}
	for i, c := range tb.cols {
		if c.name == "updated_at" && c.kind == kTime {
			st.updated = i
		}
	}
	if st.updated < 0 && !appendOnly[tb.src] && !m.opts.AppendOnly[tb.src] {
		return
	}
	key := quote(m.from.d, tb.cols[tb.key[0]].name)
	q := "SELECT COALESCE(MAX(" + key + "), 0) FROM " + quote(m.from.d, tb.src)
	if st.updated >= 0 {
		q = "SELECT COALESCE(MAX(" + key + "), 0), MAX(" + tb.srcSel[st.updated] + ") FROM " + quote(m.from.d, tb.src)
	}
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	var w any
	dest := []any{&st.maxKey}
	if st.updated >= 0 {
		dest = append(dest, &w)
	}
	if err := m.from.q.QueryRowContext(ctx, q).Scan(dest...); err != nil {
		return // the freeze compares the table whole
	}
	if w != nil {
		t, err := normalize(w, kTime)
		if err != nil {
			return
		}
		st.watermark = t.(time.Time)
	}
	m.mu.Lock()
	m.passes[tb.name] = st
	m.mu.Unlock()
}

// deltaTable catches tb up from its last pass and verifies what changed;
// ok is false when tb has no usable pass, to be compared whole.
func (m *mover) deltaTable(ctx context.Context, tb *table) (rep TableReport, ok bool, err error) {
	m.mu.Lock()
	st := m.passes[tb.name]
	m.mu.Unlock()
	if st == nil {
		return rep, false, nil
	}
	rep = TableReport{Table: tb.name, Copied: m.checkpoint(tb.name).rows}
	todo, err := m.changedRanges(ctx, tb, st)
	if err != nil {
		return rep, true, err
	}
	rows, err := m.updatedRows(ctx, tb, st, todo)
	if err != nil {
		return rep, true, err
	}
	m.log.Info("catching up from the last pass", "table", tb.name, "ranges", len(todo), "updated_rows", len(rows))
	ranges := make([]int64, 0, len(todo))
	for b := range todo {
		ranges = append(ranges, b)
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i] < ranges[j] })
	ts := sums{}
	for b, x := range st.sums {
		y := *x
		ts[b] = &y
	}
	if len(ranges) > 0 {
		n, err := m.repair(ctx, tb, st.r, ranges)
		if err != nil {
			return rep, true, err
		}
		rep.Repaired += n
	}
	for _, b := range ranges {
		src, err := m.sumSide(ctx, tb, st.r, true, &b)
		if err != nil {
			return rep, true, fmt.Errorf("checksums of %s on the source: %w", tb.src, err)
		}
		dst, err := m.sumSide(ctx, tb, st.r, false, &b)
		if err != nil {
			return rep, true, fmt.Errorf("checksums of %s on the target: %w", tb.dst, m.targetErr(err))
		}
		delete(st.sums, b)
		delete(ts, b)
		if x := src[b]; x != nil {
			st.sums[b] = x
		}
		if x := dst[b]; x != nil {
			ts[b] = x
		}
	}
	n, err := m.repairRows(ctx, tb, st, ts, rows)
	if err != nil {
		return rep, true, err
	}
	rep.Repaired += n
	diff := differing(st.sums, ts)
	ss, tt := st.sums.total(), ts.total()
	rep.SourceRows, rep.TargetRows = ss.rows, tt.rows
	rep.SourceChecksum, rep.TargetChecksum = ss.hex(), tt.hex()
	rep.Match = len(diff) == 0
	if !rep.Match {
		rep.FirstDiff = st.r.describe(diff[0])
	}
	return rep, true, nil
}

// changedRanges returns the ranges whose row count differs from the last
// pass's, and those past its largest key.
func (m *mover) changedRanges(ctx context.Context, tb *table, st *passState) (map[int64]bool, error) {
	d := m.from.d
	key := quote(d, tb.cols[tb.key[0]].name)
	div := "/"
	if d == sqldb.MySQL {
		div = "DIV"
	}
	q := fmt.Sprintf("SELECT %s %s %d, COUNT(*), MAX(%s) FROM %s GROUP BY 1", key, div, st.r.width, key, quote(d, tb.src))
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	rows, err := m.from.q.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("count the source's %s per range: %w", tb.src, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	seen := map[int64]bool{}
	for rows.Next() {
		var b, n, hi int64
		if err := rows.Scan(&b, &n, &hi); err != nil {
			return nil, err
		}
		seen[b] = true
		if x := st.sums[b]; x == nil || x.rows != n || hi > st.maxKey {
			out[b] = true
		}
	}
	for b := range st.sums {
		if !seen[b] {
			out[b] = true // every row of the range deleted
		}
	}
	return out, rows.Err()
}

// updatedRows returns the source's rows updated since the last pass (by
// updated_at), outside the ranges todo.
func (m *mover) updatedRows(ctx context.Context, tb *table, st *passState, todo map[int64]bool) ([][]any, error) {
	if st.updated < 0 {
		return nil, nil
	}
	sel := selectSQL(tb, m.fromDB, true, false, false, 0)
	where := " WHERE " + tb.srcSel[st.updated] + " >= ?"
	i := strings.Index(sel, " ORDER BY ")
	sel = sel[:i] + where + sel[i:]
	since := st.watermark.Add(-updatedSlack)
	var arg any = since
	if m.from.d == sqldb.SQLite {
		arg = since.Format(sqliteTime)
	}
	var out [][]any
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	err := scanRows(ctx, m.from.q, tb, m.fromDB.Rebind(sel), []any{arg}, func(row []any) error {
		if !todo[st.r.bucket(row[tb.key[0]])] {
			out = append(out, row)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the source's %s updated since the last pass: %w", tb.src, err)
	}
	return out, nil
}

// repairRows rewrites on the target those of rows that differ there, in
// one transaction, moves both sides' sums by the difference, and reads
// what it wrote back to compare.
func (m *mover) repairRows(ctx context.Context, tb *table, st *passState, ts sums, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	h := &hasher{prec: m.prec}
	key := quote(m.to.d, tb.cols[tb.key[0]].name)
	one := selectSQL(tb, m.to.db, false, false, false, 0)
	i := strings.Index(one, " ORDER BY ")
	one = m.to.db.Rebind(one[:i] + " WHERE " + key + " = ?")
	var dels, ins [][]any
	type change struct {
		b        int64
		old, new [32]byte
		had      bool
	}
	var changes []change
	for _, row := range rows {
		c := change{b: st.r.bucket(row[tb.key[0]]), new: h.row(tb, row)}
		err := scanRows(ctx, m.to.db.Writer(), tb, one, keyOf(tb, row), func(t []any) error {
			c.old, c.had = h.row(tb, t), true
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("read %s on the target: %w", tb.dst, m.targetErr(err))
		}
		if c.had && c.old == c.new {
			continue
		}
		if c.had {
			dels = append(dels, keyOf(tb, row))
		}
		ins = append(ins, row)
		changes = append(changes, c)
	}
	if len(ins) == 0 {
		return 0, nil
	}
	check := make([][]any, len(ins))
	for i, r := range ins {
		check[i] = keyOf(tb, r)
	}
	err := m.to.retry(ctx, func(tx ttx) error {
		del := deleteSQL(tb, m.to)
		for _, k := range dels {
			if err := tx.exec(ctx, del, k...); err != nil {
				return err
			}
		}
		return tx.insert(ctx, tb, ins)
	})
	if err != nil {
		return 0, fmt.Errorf("catch up %s on the target: %w", tb.dst, m.targetErr(err))
	}
	for i, c := range changes {
		var got [32]byte
		err := scanRows(ctx, m.to.db.Writer(), tb, one, check[i], func(t []any) error { got = h.row(tb, t); return nil })
		if err != nil {
			return 0, fmt.Errorf("read %s on the target: %w", tb.dst, m.targetErr(err))
		}
		for _, s := range []sums{st.sums, ts} {
			if s[c.b] == nil {
				s[c.b] = &sum{}
			}
			if c.had {
				s[c.b].sub(c.old)
			}
		}
		st.sums[c.b].add(c.new)
		ts[c.b].add(got)
	}
	return int64(len(dels) + len(ins)), nil
}
