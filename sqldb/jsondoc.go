package sqldb

import (
	"bytes"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kura-dev/kura"
)

// This file is the toolkit's document column: a JSON value stored the same
// way on every engine (PostgreSQL jsonb, SQLite TEXT with a json_valid
// CHECK, MariaDB JSON, which is LONGTEXT with a json_valid CHECK), read
// and written as text, and a canonical form that compares equal whatever
// the engine made of the text.

// JSON is a JSON document as a column holds it: its text. It scans from
// every engine's form (text or bytes; PostgreSQL's jsonb comes back with
// its own spacing and key order) and is written as text, which each
// engine parses. A nil JSON is SQL NULL. Write what CanonicalJSON or
// CheckJSON returned, so that the stored text is the same on every engine
// but PostgreSQL's, whose jsonb keeps the same value.
type JSON []byte

// Scan implements sql.Scanner. The bytes are copied.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = JSON(v)
	case []byte:
		*j = append(JSON(nil), v...)
	default:
		return fmt.Errorf("sqldb.JSON: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer: the text, or NULL for nil.
func (j JSON) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	return string(j), nil
}

// MarshalJSON implements json.Marshaler: the document as it is, or null.
func (j JSON) MarshalJSON() ([]byte, error) {
	if j == nil {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON implements json.Unmarshaler: a copy of the text.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// JSONLimits bound a document: what CheckJSON, MergePatch and PatchJSON
// refuse. A zero field means no bound of that kind, except Field.
type JSONLimits struct {
	Field     string // the name errors give the document in their Fields; "document" when ""
	MaxBytes  int    // the canonical text's length
	MaxDepth  int    // nesting of objects and arrays; a flat object is 1
	MaxKeys   int    // object members in the whole document
	MaxString int    // bytes of any one string or key
	MaxItems  int    // elements of any one array
}

func (l JSONLimits) field() string {
	if l.Field == "" {
		return "document"
	}
	return l.Field
}

// invalid is the EINVALID error of a document, naming l's field.
func (l JSONLimits) invalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &kura.Error{Code: kura.EINVALID, Message: "The " + l.field() + " " + msg + ".",
		Fields: map[string]string{l.field(): msg}}
}

// ParseJSON decodes one JSON text into its value (objects as
// map[string]any, numbers as json.Number) after refusing what an engine
// would store differently or not at all: invalid UTF-8, a NUL (\u0000,
// which PostgreSQL's jsonb refuses), a lone surrogate escape (which
// encoding/json would turn into U+FFFD), more than one value. The limits
// other than MaxBytes are checked on the value.
// Errors: EINVALID naming l.Field.
func ParseJSON(b []byte, l JSONLimits) (any, error) {
	if !utf8.Valid(b) {
		return nil, l.invalid("must be valid UTF-8")
	}
	if err := checkEscapes(b); err != "" {
		return nil, l.invalid("%s", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, l.invalid("is not valid JSON")
	}
	if _, err := dec.Token(); err == nil {
		return nil, l.invalid("must be a single JSON value")
	}
	keys := 0
	if err := l.walk(v, 1, &keys); err != nil {
		return nil, err
	}
	return v, nil
}

// checkEscapes finds, in a text that is valid UTF-8, a \u0000 escape or a
// surrogate escape not in a pair, and says what is wrong ("" for nothing).
// Backslashes occur only inside strings in JSON, so a scan of the bytes
// is enough.
func checkEscapes(b []byte) string {
	for i := 0; i < len(b); i++ {
		if b[i] == 0 {
			return "must not contain NUL characters"
		}
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		i++
		if b[i] != 'u' {
			continue
		}
		r, ok := hex4(b, i+1)
		switch {
		case !ok:
			continue // the decoder reports it
		case r == 0:
			return "must not contain NUL characters"
		case r >= 0xDC00 && r <= 0xDFFF:
			return "must not contain a lone surrogate escape"
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := rune(0), false
			if i+6 < len(b) && b[i+5] == '\\' && b[i+6] == 'u' {
				lo, ok = hex4(b, i+7)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return "must not contain a lone surrogate escape"
			}
			i += 6
		}
		i += 4
	}
	return ""
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}

// walk checks the limits on a decoded value at the given depth.
func (l JSONLimits) walk(v any, depth int, keys *int) error {
	switch x := v.(type) {
	case string:
		if l.MaxString > 0 && len(x) > l.MaxString {
			return l.invalid("has a string longer than %d bytes", l.MaxString)
		}
	case map[string]any:
		if l.MaxDepth > 0 && depth > l.MaxDepth {
			return l.invalid("is nested deeper than %d levels", l.MaxDepth)
		}
		*keys += len(x)
		if l.MaxKeys > 0 && *keys > l.MaxKeys {
			return l.invalid("has more than %d keys", l.MaxKeys)
		}
		for k, e := range x {
			if l.MaxString > 0 && len(k) > l.MaxString {
				return l.invalid("has a key longer than %d bytes", l.MaxString)
			}
			if err := l.walk(e, depth+1, keys); err != nil {
				return err
			}
		}
	case []any:
		if l.MaxDepth > 0 && depth > l.MaxDepth {
			return l.invalid("is nested deeper than %d levels", l.MaxDepth)
		}
		if l.MaxItems > 0 && len(x) > l.MaxItems {
			return l.invalid("has an array of more than %d items", l.MaxItems)
		}
		for _, e := range x {
			if err := l.walk(e, depth+1, keys); err != nil {
				return err
			}
		}
	}
	return nil
}

// EncodeJSON writes a decoded value (as ParseJSON returns) in the
// canonical form and checks l.MaxBytes on it.
// Errors: EINVALID naming l.Field.
func EncodeJSON(v any, l JSONLimits) (JSON, error) {
	v, err := canonicalNumbers(v)
	if err != nil {
		return nil, l.invalid("%s", err.Error())
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, l.invalid("cannot be encoded")
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if l.MaxBytes > 0 && len(out) > l.MaxBytes {
		return nil, l.invalid("is larger than %d bytes", l.MaxBytes)
	}
	return JSON(out), nil
}

// CheckJSON parses b, checks it against l, and returns its canonical
// form. Errors: EINVALID naming l.Field.
func CheckJSON(b []byte, l JSONLimits) (JSON, error) {
	v, err := ParseJSON(b, l)
	if err != nil {
		return nil, err
	}
	return EncodeJSON(v, l)
}

// CanonicalJSON returns the one text of a JSON value that every engine's
// form of it maps to: object keys sorted by their bytes, no spaces,
// strings escaped as encoding/json does (without HTML escapes), and each
// number as the shortest exact decimal of its value (1.50 and 15e-1 are
// 1.5; 1e2 is 100; -0 is 0), which PostgreSQL's jsonb, whose numbers are
// numeric, keeps as it is. Backups and the data move compare documents in
// this form.
func CanonicalJSON(b []byte) (JSON, error) {
	return CheckJSON(b, JSONLimits{})
}

// canonicalNumbers replaces every json.Number in v by its canonical text.
func canonicalNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		s, err := canonicalNumber(string(x))
		return json.Number(s), err
	case map[string]any:
		for k, e := range x {
			c, err := canonicalNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
	case []any:
		for i, e := range x {
			c, err := canonicalNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
	}
	return v, nil
}

// maxNumberScale bounds the decimal point's position in a canonical
// number, so that 1e999999999 cannot become a gigabyte of zeros.
const maxNumberScale = 400

// canonicalNumber returns the shortest exact decimal text of a JSON number.
func canonicalNumber(s string) (string, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		n, err := strconv.Atoi(strings.TrimPrefix(expText, "+"))
		if err != nil || n > maxNumberScale || n < -maxNumberScale {
			return "", fmt.Errorf("has a number out of range")
		}
		exp = n
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits := whole + frac
	point := len(whole) + exp
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return "0", nil
	}
	if point > maxNumberScale || point < -maxNumberScale {
		return "", fmt.Errorf("has a number out of range")
	}
	var out string
	switch {
	case point <= 0:
		out = "0." + strings.Repeat("0", -point) + digits
	case point >= len(digits):
		out = digits + strings.Repeat("0", point-len(digits))
	default:
		out = digits[:point] + "." + digits[point:]
	}
	if neg {
		out = "-" + out
	}
	return out, nil
}
