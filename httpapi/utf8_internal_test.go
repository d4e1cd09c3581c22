package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kura-dev/kura"
)

func TestCheckUTF8(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		field      string // "" with bad: refused without a field
		bad        bool
	}{
		{"ASCII", `{"email":"a@example.com","n":1}`, "", false},
		{"Unicode", `{"name":"日本語 é ü"}`, "", false},
		{"RawFFFD", "{\"name\":\"a\uFFFDb\"}", "", false},
		{"EscapedFFFD", `{"name":"a\ufffdb\uFFFD"}`, "", false},
		{"Pair", `{"name":"\ud83d\ude00 \uD83D\uDE00"}`, "", false},
		{"EscapedBackslash", `{"name":"\\udc80 \\ud800"}`, "", false},
		{"OtherEscapes", `{"name":"\" \\ \/ \b \f \n \r \t \u0041 \u00e9"}`, "", false},
		{"LoneLow", `{"email":"a\udc80@example.com"}`, "email", true},
		{"LoneHigh", `{"username":"an\ud800n"}`, "username", true},
		{"HighThenChar", `{"password":"\ud800xxxxxx"}`, "password", true},
		{"HighThenHigh", `{"password":"\ud800\ud800"}`, "password", true},
		{"HighAtEnd", `{"password":"abc\uD800"}`, "password", true},
		{"RawInvalid", "{\"login\":\"ann\xff\"}", "login", true},
		{"RawSurrogate", "{\"login\":\"\xed\xa0\x80\"}", "login", true},
		{"RawTruncated", "{\"login\":\"\xe6\x97\"}", "login", true},
		{"SecondField", `{"email":"a@example.com","password":"x\udfff"}`, "password", true},
		{"Nested", `{"profile":{"bio":["ok","\udc80"]},"email":"a@example.com"}`, "profile", true},
		{"NestedKey", `{"profile":{"\udc80":1}}`, "profile", true},
		{"TopKey", `{"\udc80":1}`, "", true},
		{"NameHasEscape", `{"na\u006de":"\udc80"}`, "name", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.body)) {
				t.Fatalf("not JSON: %s", tt.body)
			}
			err := checkUTF8([]byte(tt.body))
			if !tt.bad {
				if err != nil {
					t.Fatalf("checkUTF8(%s) = %v; want nil", tt.body, err)
				}
				return
			}
			var ke *kura.Error
			if kura.ErrorCode(err) != kura.EINVALID || !errorAs(err, &ke) {
				t.Fatalf("checkUTF8(%s) = %v; want EINVALID", tt.body, err)
			}
			if tt.field == "" && ke.Fields != nil || tt.field != "" && ke.Fields[tt.field] == "" {
				t.Fatalf("checkUTF8(%s) fields = %v; want %q", tt.body, ke.Fields, tt.field)
			}
		})
	}
}

func errorAs(err error, ke **kura.Error) bool {
	e, ok := err.(*kura.Error)
	*ke = e
	return ok
}

// refValid is a second reading of a JSON string's content: it builds the
// bytes the sender wrote (a lone surrogate escape as a byte that is not
// UTF-8) and asks utf8.Valid. ok is false for content with a raw quote or
// a cut escape, which the fuzz target skips.
func refValid(content string) (valid, ok bool) {
	var out []byte
	for i := 0; i < len(content); {
		c := content[i]
		switch {
		case c == '"':
			return false, false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		case i+1 >= len(content):
			return false, false
		case content[i+1] != 'u':
			out = append(out, 'e')
			i += 2
			continue
		}
		if i+6 > len(content) {
			return false, false
		}
		r, err := strconv.ParseUint(content[i+2:i+6], 16, 32)
		if err != nil {
			return false, false
		}
		i += 6
		switch {
		case r >= 0xD800 && r < 0xDC00 && i+6 <= len(content) && content[i] == '\\' && content[i+1] == 'u':
			lo, err := strconv.ParseUint(content[i+2:i+6], 16, 32)
			if err == nil && lo >= 0xDC00 && lo < 0xE000 {
				out = utf8.AppendRune(out, rune((r-0xD800)<<10+(lo-0xDC00)+0x10000))
				i += 6
				continue
			}
			out = append(out, 0xff)
		case r >= 0xD800 && r < 0xE000:
			out = append(out, 0xff)
		default:
			out = utf8.AppendRune(out, rune(r))
		}
	}
	return utf8.Valid(out), true
}

// FuzzCheckUTF8 puts any text in a JSON string: checkUTF8 agrees with
// refValid on every body encoding/json accepts, names the member, and
// never panics on any input, JSON or not.
func FuzzCheckUTF8(f *testing.F) {
	for _, s := range []string{"plain", `\udc80`, `\ud800`, `\ud83d\ude00`, `\ufffd`, "\uFFFD", "\xff", "\xed\xa0\x80",
		`\\udc80`, `\ud800\u0041`, `a\"b`, "日本", `\uDBFF\uDFFF`, `\u`, `\ud800\u`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkUTF8([]byte(s)) // any input: no panic
		body := []byte(`{"f":"` + s + `","g":[1,{"h":"x"}]}`)
		if !json.Valid(body) {
			return
		}
		valid, ok := refValid(s)
		if !ok {
			return
		}
		err := checkUTF8(body)
		if valid != (err == nil) {
			t.Fatalf("checkUTF8(%q) = %v; the reference says valid=%v", body, err, valid)
		}
		if err != nil {
			if ke, _ := err.(*kura.Error); ke == nil || ke.Fields["f"] == "" {
				t.Fatalf("checkUTF8(%q) = %v; want field f", body, err)
			}
		}
		if valid && strings.ContainsRune(s, utf8.RuneError) && err != nil {
			t.Fatalf("a U+FFFD sent as such was refused: %q", body)
		}
	})
}
