package datamove

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kura-dev/kura/backup"
)

// rangeRows is about how many rows one key range of a table's checksums
// covers: a difference is named, and repaired, a range at a time.
var rangeRows int64 = 2048

// ranges cuts a table's rows into key ranges on its key's first column:
// [lo + i*width, lo + (i+1)*width). A table whose key does not start with
// an integer is one range (width 0).
type ranges struct {
	width int64
	col   string
}

// bucket is the range of a first key value.
func (r ranges) bucket(v any) int64 {
	if r.width == 0 {
		return 0
	}
	k, _ := v.(int64)
	if k < 0 {
		return (k+1)/r.width - 1
	}
	return k / r.width
}

// bounds returns the key values a range holds, lo included, hi excluded.
func (r ranges) bounds(b int64) (lo, hi int64) { return b * r.width, (b + 1) * r.width }

// describe names range b for a message.
func (r ranges) describe(b int64) string {
	if r.width == 0 {
		return "all rows"
	}
	lo, hi := r.bounds(b)
	return fmt.Sprintf("%s %d to %d", r.col, lo, hi-1)
}

// rangesOf chooses tb's ranges from the source's first key column.
func (m *mover) rangesOf(ctx context.Context, tb *table) (ranges, error) {
	first := tb.cols[tb.key[0]]
	if first.kind != kInt {
		return ranges{}, nil
	}
	q := fmt.Sprintf("SELECT COALESCE(MIN(%[1]s), 0), COALESCE(MAX(%[1]s), 0), COUNT(*) FROM %[2]s", quote(m.from.d, first.name), quote(m.from.d, tb.src))
	if tb.srcWhere != "" {
		q += " WHERE " + tb.srcWhere
	}
	var lo, hi, n int64
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	if err := m.from.q.QueryRowContext(ctx, q).Scan(&lo, &hi, &n); err != nil {
		return ranges{}, err
	}
	w := int64(1)
	if n > 0 {
		w = max(1, (hi-lo+1)*rangeRows/n)
	}
	return ranges{width: w, col: first.name}, nil
}

// sums are a table's rows summed per range.
type sums map[int64]*sum

func (s sums) add(b int64, h [32]byte) {
	x := s[b]
	if x == nil {
		x = &sum{}
		s[b] = x
	}
	x.add(h)
}

// knownSums are the source's sums of a table, summed while it was copied
// in the current snapshot.
type knownSums struct {
	r ranges
	s sums
}

func (s sums) total() sum {
	var t sum
	for _, x := range s {
		t.merge(*x)
	}
	return t
}

// sumSide sums tb's rows on one side, per range, in key order; with a
// range given (ranged), only that range's.
func (m *mover) sumSide(ctx context.Context, tb *table, r ranges, fromSource bool, only *int64) (sums, error) {
	var q querier = m.to.db.Writer()
	db := m.to.db
	if fromSource {
		q, db = m.from.q, m.fromDB
	}
	var args []any
	if only != nil {
		lo, hi := r.bounds(*only)
		args = []any{lo, hi}
	}
	query := selectSQL(tb, db, fromSource, false, only != nil && r.width > 0, 0)
	if only != nil && r.width == 0 {
		args = nil
	}
	out := sums{}
	h := &hasher{prec: m.prec}
	err := scanRows(ctx, q, tb, query, args, func(row []any) error {
		out.add(r.bucket(row[tb.key[0]]), h.row(tb, row))
		return nil
	})
	return out, err
}

// differing returns the ranges whose rows differ between a and b, in
// order.
func differing(a, b sums) []int64 {
	var out []int64
	for k, x := range a {
		if y, ok := b[k]; !ok || *x != *y {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TableReport is one table's figures after a move or a verification.
type TableReport struct {
	Table          string `json:"table"`
	SourceRows     int64  `json:"source_rows"`
	TargetRows     int64  `json:"target_rows"`
	SourceChecksum string `json:"source_checksum"`
	TargetChecksum string `json:"target_checksum"`
	Copied         int64  `json:"copied"`   // rows written by the bulk copy, over every run
	Repaired       int64  `json:"repaired"` // rows rewritten to catch up with the source
	Match          bool   `json:"match"`
	FirstDiff      string `json:"first_difference,omitempty"` // the first key range that differs
}

// syncTable compares tb on both sides range by range and, when repair is
// set, rewrites each differing range's differing rows on the target
// (deleting those the source no longer has), then compares again what it
// rewrote. It returns the table's figures.
func (m *mover) syncTable(ctx context.Context, tb *table, repair bool) (TableReport, error) {
	var r ranges
	var ss sums
	m.mu.Lock()
	known := m.known[tb.name]
	m.mu.Unlock()
	if known != nil {
		r, ss = known.r, known.s
	} else {
		var err error
		if r, err = m.rangesOf(ctx, tb); err != nil {
			return TableReport{}, fmt.Errorf("key ranges of %s: %w", tb.src, err)
		}
	}
	var ts sums
	tdone := make(chan error, 1)
	go func() {
		var err error
		ts, err = m.sumSide(ctx, tb, r, false, nil)
		tdone <- err
	}()
	var err error
	if known == nil {
		ss, err = m.sumSide(ctx, tb, r, true, nil)
	}
	if terr := <-tdone; err == nil && terr != nil {
		err = fmt.Errorf("checksums of %s on the target: %w", tb.dst, m.targetErr(terr))
	} else if err != nil {
		err = fmt.Errorf("checksums of %s on the source: %w", tb.src, err)
	}
	if err != nil {
		return TableReport{}, err
	}
	rep := TableReport{Table: tb.name, Copied: m.checkpoint(tb.name).rows}
	diff := differing(ss, ts)
	if repair && len(diff) > 0 {
		n, err := m.repair(ctx, tb, r, diff)
		if err != nil {
			return TableReport{}, err
		}
		rep.Repaired = n
		for _, b := range diff {
			again, err := m.sumSide(ctx, tb, r, false, &b)
			if err != nil {
				return TableReport{}, fmt.Errorf("checksums of %s on the target: %w", tb.dst, m.targetErr(err))
			}
			delete(ts, b)
			if s := again[b]; s != nil {
				ts[b] = s
			}
		}
		diff = differing(ss, ts)
	}
	if rep.Match = len(diff) == 0; rep.Match {
		m.remember(ctx, tb, r, ss)
	}
	st, tt := ss.total(), ts.total()
	rep.SourceRows, rep.TargetRows = st.rows, tt.rows
	rep.SourceChecksum, rep.TargetChecksum = st.hex(), tt.hex()
	rep.Match = len(diff) == 0
	if !rep.Match {
		rep.FirstDiff = r.describe(diff[0])
	}
	return rep, nil
}

// repair makes the target's rows of the ranges diff equal the source's,
// a range at a time: it reads both sides' rows of the range, then, in one
// transaction, deletes the target's rows that differ or that the source
// lacks and inserts the source's that differ or that the target lacks.
// Memory holds one range. It returns how many rows it rewrote.
func (m *mover) repair(ctx context.Context, tb *table, r ranges, diff []int64) (int64, error) {
	var n int64
	for _, b := range diff {
		k, err := m.repairRange(ctx, tb, r, b)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

func (m *mover) repairRange(ctx context.Context, tb *table, r ranges, b int64) (int64, error) {
	h := &hasher{prec: m.prec}
	var args []any
	if r.width > 0 {
		lo, hi := r.bounds(b)
		args = []any{lo, hi}
	}
	type entry struct {
		key  []any
		hash [32]byte
	}
	have := map[string]entry{}
	err := scanRows(ctx, m.to.db.Writer(), tb, selectSQL(tb, m.to.db, false, false, r.width > 0, 0), args, func(row []any) error {
		k := keyOf(tb, row)
		have[keyString(k)] = entry{k, h.row(tb, row)}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read %s on the target: %w", tb.dst, m.targetErr(err))
	}
	var dels, ins [][]any
	err = scanRows(ctx, m.from.q, tb, selectSQL(tb, m.fromDB, true, false, r.width > 0, 0), args, func(row []any) error {
		ks := keyString(keyOf(tb, row))
		if e, ok := have[ks]; ok {
			delete(have, ks)
			if e.hash == h.row(tb, row) {
				return nil
			}
			dels = append(dels, e.key)
		}
		ins = append(ins, row)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read %s on the source: %w", tb.src, err)
	}
	for _, e := range have {
		dels = append(dels, e.key)
	}
	n := int64(len(dels) + len(ins))
	err = m.to.retry(ctx, func(tx ttx) error {
		del := deleteSQL(tb, m.to)
		for _, k := range dels {
			if err := tx.exec(ctx, del, k...); err != nil {
				return err
			}
		}
		for len(ins) > 0 {
			c := min(len(ins), m.opts.ChunkRows)
			if err := tx.insert(ctx, tb, ins[:c]); err != nil {
				return err
			}
			ins = ins[c:]
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("catch up %s on the target (%s): %w", tb.dst, r.describe(b), m.targetErr(err))
	}
	return n, nil
}

func deleteSQL(tb *table, t *target) string {
	conds := make([]string, len(tb.key))
	for i, k := range tb.key {
		conds[i] = quote(t.d, tb.cols[k].name) + " = ?"
	}
	return t.db.Rebind("DELETE FROM " + quote(t.d, tb.dst) + " WHERE " + strings.Join(conds, " AND "))
}

func keyString(k []any) string {
	var b []byte
	for _, v := range k {
		b = backup.AppendValue(b, v)
	}
	return string(b)
}
