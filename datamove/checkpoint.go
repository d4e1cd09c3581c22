package datamove

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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

// checkpoint is a table's progress.
type checkpoint struct {
	lastKey []any // nil: nothing copied yet
	rows    int64
	done    bool
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
		out[name] = c
	}
	return out, source, cutOver, rows.Err()
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
