package datamove

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
)

// sqliteTime is how kura stores a time on SQLite: UTC text, fixed width,
// milliseconds (sqldb's layout).
const sqliteTime = "2006-01-02 15:04:05.000"

// timeLayouts are the texts a time is read from when a driver hands it
// over as text.
var timeLayouts = []string{sqliteTime, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// normalize returns a driver's value v of a column of kind k in the one
// form every engine's value of that kind is read as: int64, float64,
// bool, time.Time in UTC, string (text and JSON) or []byte.
func normalize(v any, k kind) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			return map[bool]int64{false: 0, true: 1}[x], nil
		case float64:
			return int64(x), nil
		}
		return strconv.ParseInt(text(v), 10, 64)
	case kFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
		return strconv.ParseFloat(text(v), 64)
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
		switch strings.ToLower(text(v)) {
		case "1", "t", "true":
			return true, nil
		case "0", "f", "false":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", text(v))
	case kTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC(), nil
		}
		s := text(v)
		if t, ok := fastTime(s); ok {
			return t, nil
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("%q is not a time", s)
	case kBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string: // SQLite's, read as hex by selectExpr
			return hex.DecodeString(strings.TrimPrefix(x, "x"))
		}
		return []byte(text(v)), nil
	}
	return text(v), nil
}

// fastTime parses kura's SQLite layout, "2006-01-02 15:04:05" with up to
// nine digits of fraction, without time.Parse's generality: it is most of
// the values a move reads from SQLite.
func fastTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + int(c)
		}
		return n, true
	}
	var f [6]int
	for i, r := range [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		n, ok := num(s[r[0]:r[1]])
		if !ok {
			return time.Time{}, false
		}
		f[i] = n
	}
	nsec := 0
	if len(s) > 19 {
		frac := s[20:]
		if s[19] != '.' || len(frac) == 0 || len(frac) > 9 {
			return time.Time{}, false
		}
		n, ok := num(frac)
		if !ok {
			return time.Time{}, false
		}
		for range 9 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}, false
	}
	return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], nsec, time.UTC), true
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// targetValue returns the normalized value v of kind k as the target
// engine d stores it.
func targetValue(v any, k kind, d sqldb.Dialect) any {
	if v == nil {
		return nil
	}
	switch k {
	case kTime:
		if d == sqldb.SQLite {
			return v.(time.Time).Format(sqliteTime)
		}
	case kBool:
		if d == sqldb.SQLite {
			if v.(bool) {
				return int64(1)
			}
			return int64(0)
		}
	}
	return v
}

// hasher hashes rows in their canonical encoding: each value normalized,
// times cut to the coarser precision of the two engines, JSON re-encoded
// with sorted keys, then each value written as backup's checksums write
// it (a type tag, a length, the bytes).
type hasher struct {
	prec time.Duration
	buf  []byte
}

func (h *hasher) row(t *table, vals []any) [32]byte {
	h.buf = h.buf[:0]
	for i, v := range vals {
		h.buf = backup.AppendValue(h.buf, h.canonical(v, t.cols[i].kind))
	}
	return sha256.Sum256(h.buf)
}

func (h *hasher) canonical(v any, k kind) any {
	if v == nil {
		return nil
	}
	switch k {
	case kTime:
		return v.(time.Time).Truncate(h.prec)
	case kJSON:
		return canonicalJSON(v.(string))
	case kBool:
		if v.(bool) {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

// canonicalJSON returns a JSON text in sqldb.CanonicalJSON's form (keys
// sorted, no spaces, each number as the shortest exact decimal of its
// value), so that PostgreSQL's jsonb, MariaDB's JSON and SQLite's text of
// one document compare equal, whichever wrote it; a text that is not JSON
// stays as it is.
func canonicalJSON(s string) string {
	c, err := sqldb.CanonicalJSON([]byte(s))
	if err != nil {
		return s
	}
	return string(c)
}

// sum is the content of a set of rows, independent of their order: the
// sum, lane by lane, of their rows' sha256, and their count. Two engines
// that order text keys by different collations still agree on it.
type sum struct {
	rows  int64
	lanes [4]uint64
}

func (s *sum) add(h [32]byte) {
	s.rows++
	for i := range s.lanes {
		s.lanes[i] += binary.BigEndian.Uint64(h[i*8:])
	}
}

func (s *sum) sub(h [32]byte) {
	s.rows--
	for i := range s.lanes {
		s.lanes[i] -= binary.BigEndian.Uint64(h[i*8:])
	}
}

func (s *sum) merge(o sum) {
	s.rows += o.rows
	for i := range s.lanes {
		s.lanes[i] += o.lanes[i]
	}
}

func (s sum) hex() string {
	var b [32]byte
	for i, l := range s.lanes {
		binary.BigEndian.PutUint64(b[i*8:], l)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b[:]))
}
