package sqldb

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Upsert describes the insert-or-update of one row of Table for DB.Upsert:
// the row whose Key columns hold the values given is inserted, or, when a
// row with that key exists, its Set columns are updated.
type Upsert struct {
	Table string
	// Key are the columns of the primary key or unique index that finds
	// the row. Required.
	Key []string
	// Set are the columns written on insert and on update.
	Set []string
	// InsertOnly are the columns written on insert only, such as
	// created_at: an update leaves them as they are. With Set empty, a row
	// that exists is left as it is, and that is no error.
	InsertOnly []string
}

// identifier is a table or column name Upsert accepts: a plain lower-case
// name, the same quoted or not on every engine.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Upsert inserts one row of u.Table, or updates the Set columns of the row
// with the same key, in one statement and so without a race between two
// writers: INSERT ... ON CONFLICT (key) DO UPDATE SET on SQLite and
// PostgreSQL, INSERT ... ON DUPLICATE KEY UPDATE on MySQL/MariaDB. values
// are the Key columns', then Set's, then InsertOnly's, in order; a time.Time is
// passed as the engine stores it, as by a Tx. q is usually the Tx of
// InTx. Names must be plain lower-case identifiers (they are quoted);
// a bad description is an error before anything runs.
//
// On MySQL a clash on any unique index of the table, not only Key's,
// turns the insert into the update: give the table no other unique index
// that a row could clash on.
func (db *DB) Upsert(ctx context.Context, q Querier, u Upsert, values ...any) error {
	query, err := u.query(db.dialect)
	if err != nil {
		return err
	}
	if n := len(u.columns()); len(values) != n {
		return fmt.Errorf("upsert %s: %d values for %d columns", u.Table, len(values), n)
	}
	_, err = db.bind(q).ExecContext(ctx, query, values...)
	return err
}

// query returns the statement of u for the engine, written with ?.
func (u Upsert) query(d Dialect) (string, error) {
	if err := u.validate(); err != nil {
		return "", err
	}
	quote := func(name string) string { return `"` + name + `"` }
	if d == MySQL {
		quote = func(name string) string { return "`" + name + "`" }
	}
	var cols []string
	for _, c := range u.columns() {
		cols = append(cols, quote(c))
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + quote(u.Table) + " (" + strings.Join(cols, ", ") + ") VALUES (" + Placeholders(len(cols)) + ")")
	keys, sets := cols[:len(u.Key)], cols[len(u.Key):len(u.Key)+len(u.Set)]
	switch {
	case d == MySQL:
		b.WriteString(" ON DUPLICATE KEY UPDATE ")
		if len(sets) == 0 {
			// A no-op update: the row stays, and a clash is no error.
			b.WriteString(keys[0] + " = " + keys[0])
		}
		for i, c := range sets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c + " = VALUES(" + c + ")")
		}
	case len(sets) == 0:
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO NOTHING")
	default:
		b.WriteString(" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET ")
		for i, c := range sets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c + " = excluded." + c)
		}
	}
	return b.String(), nil
}

// validate checks the names of u.
func (u Upsert) validate() error {
	if !identifier.MatchString(u.Table) {
		return fmt.Errorf("upsert: the table %q is not a plain lower-case name", u.Table)
	}
	if len(u.Key) == 0 {
		return fmt.Errorf("upsert %s: no Key columns", u.Table)
	}
	seen := map[string]bool{}
	for _, c := range u.columns() {
		if !identifier.MatchString(c) {
			return fmt.Errorf("upsert %s: the column %q is not a plain lower-case name", u.Table, c)
		}
		if seen[c] {
			return fmt.Errorf("upsert %s: the column %s is named twice", u.Table, c)
		}
		seen[c] = true
	}
	return nil
}

// columns returns the columns of u in the order of the values.
func (u Upsert) columns() []string {
	cols := make([]string, 0, len(u.Key)+len(u.Set)+len(u.InsertOnly))
	cols = append(cols, u.Key...)
	cols = append(cols, u.Set...)
	return append(cols, u.InsertOnly...)
}
