package sqldb

import (
	"bytes"
	"context"
	"fmt"
)

// MergePatch applies a JSON Merge Patch (RFC 7396) to a document and
// returns the result in canonical form, checked against l: each member of
// an object patch replaces the target's, null removes it, and a nested
// object is merged recursively; a patch that is not an object replaces
// the whole document. doc may be empty, meaning no document yet. The
// patch is checked against l before it is applied, the result after.
// Errors: EINVALID naming l.Field.
func MergePatch(doc, patch []byte, l JSONLimits) (JSON, error) {
	return MergePatchChecked(doc, patch, l, false, nil)
}

// mergeValue is RFC 7396's MergePatch(Target, Patch), changing target in
// place.
func mergeValue(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mergeValue(t[k], v)
		}
	}
	return t
}

// ForUpdate returns the clause that locks the rows a SELECT reads until
// the transaction ends: " FOR UPDATE" on PostgreSQL and MySQL, "" on
// SQLite, whose transactions of InTx hold the database's one write lock
// from BEGIN IMMEDIATE.
func ForUpdate(d Dialect) string {
	if d == SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// JSONPatch describes the merge patch of one document column of one row,
// for PatchJSON.
type JSONPatch struct {
	Table  string // the table; its key is a column named id
	Column string // the document column
	ID     int64  // the row
	Patch  []byte // the merge patch, as the client sent it
	Limits JSONLimits
	// Object, if set, requires the patch, and so the document, to be a
	// JSON object: the usual document column.
	Object bool
	// Check, if set, is called with the merged document, decoded, before
	// it is written; an error leaves the row as it was and is returned.
	Check func(doc any) error
	// Set, if set, are more assignments ("col = ?", with SetArgs) made by
	// the same UPDATE, such as a version or an updated_at.
	Set     string
	SetArgs []any
}

// PatchJSON applies p in tx without losing a concurrent update: it reads
// the document with a lock on the row (ForUpdate), merges in Go, checks
// the result, and writes it back in the same transaction, so a second
// patch of the same row waits for the first and merges onto its result.
// (PostgreSQL has no merge-patch function to do it in one statement, and
// the limits must be checked on the result anyway.) It returns the
// document as stored and whether the patch changed it; a patch that
// changes nothing writes nothing.
// Errors: ENOTFOUND ("Row not found." when no row has the id), EINVALID
// naming p.Limits.Field, Check's, and the database's.
func PatchJSON(ctx context.Context, tx *Tx, p JSONPatch) (JSON, bool, error) {
	d := tx.db.dialect
	var old JSON
	q := "SELECT " + p.Column + " FROM " + p.Table + " WHERE id = ?" + ForUpdate(d)
	if err := tx.QueryRowContext(ctx, q, p.ID).Scan(&old); err != nil {
		return nil, false, notFound(err, "Row")
	}
	doc, err := MergePatchChecked(old, p.Patch, p.Limits, p.Object, p.Check)
	if err != nil {
		return nil, false, err
	}
	if oldCanon, err := CanonicalJSON(old); err == nil && bytes.Equal(oldCanon, doc) {
		return doc, false, nil
	}
	set := p.Column + " = ?"
	args := []any{doc}
	if p.Set != "" {
		set += ", " + p.Set
		args = append(args, p.SetArgs...)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+p.Table+" SET "+set+" WHERE id = ?", append(args, p.ID)...); err != nil {
		return nil, false, fmt.Errorf("patch %s.%s: %w", p.Table, p.Column, err)
	}
	return doc, true, nil
}

// MergePatchChecked is MergePatch for a document column: with object set
// the patch must be a JSON object (a patch that is not one would replace
// the whole document), and check, if not nil, is called with the merged
// document, decoded, before it is encoded.
// Errors: EINVALID naming l.Field, and check's.
func MergePatchChecked(doc, patch []byte, l JSONLimits, object bool, check func(any) error) (JSON, error) {
	p, err := ParseJSON(patch, l)
	if err != nil {
		return nil, err
	}
	if _, ok := p.(map[string]any); object && !ok {
		return nil, l.invalid("patch must be a JSON object")
	}
	var target any
	if len(bytes.TrimSpace(doc)) > 0 {
		if target, err = ParseJSON(doc, JSONLimits{Field: l.Field}); err != nil {
			return nil, err
		}
	}
	merged := mergeValue(target, p)
	keys := 0
	if err := l.walk(merged, 1, &keys); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(merged); err != nil {
			return nil, err
		}
	}
	return EncodeJSON(merged, l)
}
