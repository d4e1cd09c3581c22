// Package jsonstr writes JSON strings without reflection, escaped byte for
// byte as encoding/json or log/slog escape them, for the encoders on kura's
// hot path: the user view (httpapi) and the JSON log (internal/jsonlog).
package jsonstr

import "unicode/utf8"

// Rules are one encoder's way of escaping a string.
type Rules struct {
	plain   [256]bool // the bytes that stand for themselves
	shortBF bool      // \b and \f rather than \u0008 and \u000c
}

var (
	// JSON escapes as encoding/json's Marshal: besides what JSON requires,
	// the HTML-sensitive <, > and & (as \u003c, \u003e, \u0026), and \b
	// and \f in their short forms.
	JSON = newRules("<>&", true)
	// Slog escapes as log/slog's JSON handler: <, > and & stay as they
	// are, and \b and \f are written \u0008 and \u000c.
	Slog = newRules("", false)
)

func newRules(escaped string, shortBF bool) *Rules {
	r := &Rules{shortBF: shortBF}
	for c := 0x20; c < utf8.RuneSelf; c++ {
		r.plain[c] = c != '"' && c != '\\'
	}
	for i := 0; i < len(escaped); i++ {
		r.plain[escaped[i]] = false
	}
	return r
}

const hex = "0123456789abcdef"

// Append appends s to b quoted and escaped by r. Both rules escape \" \\
// \n \r \t, other control characters as \u00XX, invalid UTF-8 as \ufffd,
// and U+2028 and U+2029 as \u2028 and \u2029.
func Append(b []byte, s string, r *Rules) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if r.plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch {
			case c == '"', c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && r.shortBF:
				b = append(b, '\\', 'b')
			case c == '\f' && r.shortBF:
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		rn, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case rn == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case rn == '\u2028' || rn == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[rn&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
