package datamove

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// checkpointTable is the target's record of a move: a row per table with
// the key of the last row copied, written in the transaction of each chunk,
// and a row named "" with the source's identity and, once the cut-over is
// done, when it was.
const checkpointTable = "kura_data_move"

const checkpointDDL = `CREATE TABLE IF NOT EXISTS kura_data_move (
    table_name  VARCHAR(190) NOT NULL PRIMARY KEY,
    source_id   VARCHAR(64)  NOT NULL,
    last_key    TEXT,
    rows_copied BIGINT       NOT NULL,
    done        SMALLINT     NOT NULL,
    cut_over_at VARCHAR(40)
)`

// checkpoint is a table's progress. While a table is copied, each chunk
// writes a row of its own, named "table#seq", so that several writers
// commit chunks in any order; the first chunk's row (and the row that
// sums up the chunks before a rerun) is marked as the start. A rerun
// continues after the chunks committed without a gap from the start
// (the prefix), and deletes from the target the rows of chunks committed
// after a gap. A table done has one row of its own name.
type checkpoint struct {
	lastKey []any // the last key of the prefix; nil: nothing copied yet
	rows    int64 // rows in the prefix
	seq     int64 // the prefix's last chunk
	done    bool
	beyond  bool // chunks were committed after a gap in the prefix
}

// chunkRow is a chunk's checkpoint as read back.
type chunkRow struct {
	seq   int64
	key   []any
	rows  int64
	start bool
}

// checkpoints reads the target's checkpoints, by table; the row "" holds
// the source's identity.
func readCheckpoints(ctx context.Context, q querier) (map[string]checkpoint, string, string, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name, source_id, last_key, rows_copied, done, cut_over_at FROM kura_data_move`)
	if err != nil {
		return nil, "", "", err
	}
	defer rows.Close()
	out := map[string]checkpoint{}
	chunks := map[string][]chunkRow{}
	var source, cutOver string
	for rows.Next() {
		var name, src string
		var key, cut sql.NullString
		var c checkpoint
		var done int
		if err := rows.Scan(&name, &src, &key, &c.rows, &done, &cut); err != nil {
			return nil, "", "", err
		}
		c.done = done != 0
		if key.Valid {
			if c.lastKey, err = decodeKey(key.String); err != nil {
				return nil, "", "", fmt.Errorf("checkpoint of %s: %w", name, err)
			}
		}
		if name == "" {
			source, cutOver = src, cut.String
			continue
		}
		if base, seq, ok := strings.Cut(name, "#"); ok {
			n, err := strconv.ParseInt(seq, 10, 64)
			if err != nil {
				return nil, "", "", fmt.Errorf("checkpoint %s: a chunk without a number", name)
			}
			chunks[base] = append(chunks[base], chunkRow{n, c.lastKey, c.rows, c.done})
			continue
		}
		out[name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, "", "", err
	}
	for name, cs := range chunks {
		if !out[name].done {
			out[name] = prefix(cs)
		}
	}
	return out, source, cutOver, nil
}

// prefix sums up a table's chunks: those from the start without a gap.
func prefix(cs []chunkRow) checkpoint {
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	var c checkpoint
	in := false
	for _, r := range cs {
		switch {
		case r.start:
			in = true
			c = checkpoint{lastKey: r.key, rows: r.rows, seq: r.seq}
		case in && r.seq == c.seq+1:
			c.lastKey, c.rows, c.seq = r.key, c.rows+r.rows, r.seq
		default:
			in = false
			c.beyond = true
		}
	}
	return c
}

// chunkName is the checkpoint row of a table's chunk.
func chunkName(table string, seq int64) string { return table + "#" + strconv.FormatInt(seq, 10) }

// saveChunk records a chunk in tx, the transaction of its rows.
// Its row is new: an INSERT alone, which takes no lock on its
// neighbours (MySQL's DELETE of a missing key would, and deadlock the
// writers).
func saveChunk(ctx context.Context, tx ttx, source, table string, seq int64, c checkpoint, start bool) error {
	b, err := json.Marshal(c.lastKey)
	if err != nil {
		return err
	}
	name, done := chunkName(table, seq), 0
	if start {
		done = 1
	}
	err = tx.exec(ctx, `INSERT INTO kura_data_move (table_name, source_id, last_key, rows_copied, done) VALUES (?, ?, ?, ?, ?)`,
		name, source, string(b), c.rows, done)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// clearChunks deletes a table's chunk rows.
func clearChunks(ctx context.Context, tx ttx, table string) error {
	return tx.exec(ctx, `DELETE FROM kura_data_move WHERE table_name > ? AND table_name < ?`, table+"#", table+"$")
}

// saveCheckpoint records tb's progress in tx, the transaction of the rows.
func saveCheckpoint(ctx context.Context, tx ttx, source, name string, c checkpoint) error {
	var key any
	if c.lastKey != nil {
		b, err := json.Marshal(c.lastKey)
		if err != nil {
			return err
		}
		key = string(b)
	}
	done := 0
	if c.done {
		done = 1
	}
	if err := tx.exec(ctx, `DELETE FROM kura_data_move WHERE table_name = ?`, name); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	err := tx.exec(ctx, `INSERT INTO kura_data_move (table_name, source_id, last_key, rows_copied, done) VALUES (?, ?, ?, ?, ?)`,
		name, source, key, c.rows, done)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// markCutOver records in the target that the move is cut over: the target
// is the live database from then on, and a rerun refuses to touch it.
func markCutOver(ctx context.Context, t *target, at time.Time) error {
	_, err := t.db.Writer().ExecContext(ctx, t.db.Rebind(`UPDATE kura_data_move SET cut_over_at = ? WHERE table_name = ''`),
		at.UTC().Format(time.RFC3339))
	return err
}

func decodeKey(s string) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var out []any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	for i, v := range out {
		if n, ok := v.(json.Number); ok {
			x, err := n.Int64()
			if err != nil {
				return nil, errors.New("a key that is not an integer or text")
			}
			out[i] = x
		}
	}
	return out, nil
}
