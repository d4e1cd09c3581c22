package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/kura-dev/kura"
)

// checkUTF8 returns an EINVALID error when a string of body, a JSON text
// that encoding/json accepted, is not valid UTF-8 as sent: a byte sequence
// that is not UTF-8, or a \u escape of a surrogate that is not half of a
// pair (\udc80, or \ud800 not followed by a low surrogate). encoding/json
// would quietly turn either into U+FFFD, storing something other than what
// the client sent. The error names the body's top-level member holding the
// string. U+FFFD itself, sent raw or as \ufffd, and surrogate pairs
// (\ud83d\ude00) are valid.
//
// The common body, valid UTF-8 without a surrogate escape, costs one pass
// of utf8.Valid and one of bytes.Index; only the others are scanned.
func checkUTF8(body []byte) error {
	if utf8.Valid(body) && !hasSurrogateEscape(body) {
		return nil
	}
	field, bad := invalidString(body)
	if !bad {
		return nil
	}
	const msg = `must be valid UTF-8: a lone surrogate escape (such as \udc80) or a byte that is not UTF-8 is not a character`
	if field == "" {
		return kura.Errorf(kura.EINVALID, "The request body holds a string that is not valid UTF-8: a lone surrogate escape (such as \\udc80) or a byte that is not UTF-8.")
	}
	return &kura.Error{Code: kura.EINVALID, Message: fmt.Sprintf("Field %q is not valid UTF-8.", field), Fields: map[string]string{field: msg}}
}

// hasSurrogateEscape reports whether body holds the text of a \u escape of
// a surrogate (\uD800 to \uDFFF, in either case). It may be a false alarm
// (an escaped backslash followed by "ud800"); invalidString decides.
func hasSurrogateEscape(body []byte) bool {
	for {
		i := bytes.Index(body, []byte(`\u`))
		if i < 0 || i+4 > len(body) {
			return false
		}
		if d, c := body[i+2], body[i+3]; (d == 'd' || d == 'D') && ('8' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return true
		}
		body = body[i+2:]
	}
}

// invalidString scans body, a JSON text, for the first string (a member
// name or a value) that is not valid UTF-8 as sent, and returns the name
// of the top-level member it is in, "" when it is a top-level member's
// name itself or not inside an object. Any input is safe to give it; on
// input that is not JSON its answer means nothing.
func invalidString(body []byte) (field string, bad bool) {
	var stack []byte // '{' or '[' per open container
	expectKey := false
	var member []byte // the raw text of the current top-level member's name
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			stack = append(stack, '{')
			expectKey = true
		case '[':
			stack = append(stack, '[')
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] == '{'
		case ':':
			expectKey = false
		case '"':
			end, ok := scanString(body, i+1)
			isTopKey := expectKey && len(stack) == 1 && stack[0] == '{'
			if !ok {
				if isTopKey || len(stack) == 0 || stack[0] != '{' {
					return "", true
				}
				return memberName(member), true
			}
			if end >= len(body) { // not closed: not JSON
				return "", false
			}
			if isTopKey {
				member = body[i : end+1]
			}
			expectKey = false
			i = end
		}
	}
	return "", false
}

// scanString reads the JSON string whose content starts at body[i] and
// returns the index of its closing quote (len(body) when there is none),
// and whether its content is valid UTF-8 as sent.
func scanString(body []byte, i int) (end int, ok bool) {
	ok = true
	for i < len(body) {
		c := body[i]
		switch {
		case c == '"':
			return i, ok
		case c == '\\':
			n := 2
			if i+1 < len(body) && body[i+1] == 'u' {
				if n = escapeLen(body[i:]); n == 0 {
					ok, n = false, 2
				}
			}
			i += n
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				ok = false
			}
			i += size
		}
	}
	return len(body), ok
}

// escapeLen returns the length of the \u escape at the start of b: 6, or
// 12 for a surrogate pair; 0 for a lone surrogate or an escape cut short.
func escapeLen(b []byte) int {
	r := hex4(b, 2)
	switch {
	case r < 0, r >= 0xDC00 && r < 0xE000: // cut short, or a low surrogate first
		return 0
	case r < 0xD800 || r >= 0xE000:
		return 6
	}
	if len(b) < 12 || b[6] != '\\' || b[7] != 'u' {
		return 0
	}
	if lo := hex4(b, 8); lo < 0xDC00 || lo >= 0xE000 {
		return 0
	}
	return 12
}

// hex4 returns the value of the four hex digits at b[i:], or -1.
func hex4(b []byte, i int) rune {
	if i+4 > len(b) {
		return -1
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// memberName decodes the quoted member name raw, as encoding/json would.
func memberName(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}
