package emailaddr_test

import (
	"testing"

	"github.com/kura-dev/kura/emailaddr"
)

func TestCanonical(t *testing.T) {
	for _, tt := range []struct {
		name, in, want, msg string
	}{
		{"Lower", " Ann@Example.COM ", "ann@example.com", ""},
		{"NFC", "re\u0301my@example.com", "r\u00e9my@example.com", ""},
		{"NFCUpper", "RE\u0301MY@example.com", "r\u00e9my@example.com", ""},
		{"IDNUnicode", "ann@BÜCHER.de", "ann@bücher.de", ""},
		{"IDNPunycode", "ann@xn--bcher-kva.de", "ann@bücher.de", ""},
		{"CyrillicDomain", "ivan@пример.рф", "ivan@пример.рф", ""},
		{"CyrillicLocal", "иван@example.com", "иван@example.com", ""},
		{"Japanese", "tanaka太郎カナ@example.jp", "tanaka太郎カナ@example.jp", ""},
		{"Digits", "ann.2024+news@example.com", "ann.2024+news@example.com", ""},
		{"NoAt", "Nope", "nope", ""},
		{"MixedLocalCyrillic", "p\u0430ypal@example.com", "p\u0430ypal@example.com", emailaddr.MixedScripts},
		{"MixedLocalGreek", "ann\u03bf@example.com", "ann\u03bf@example.com", emailaddr.MixedScripts},
		{"MixedDomainLabel", "ann@ex\u0430mple.com", "ann@ex\u0430mple.com", emailaddr.MixedScripts},
		{"MixedDomainPunycode", "ann@xn--pple-43d.com", "ann@\u0430pple.com", emailaddr.MixedScripts},
		{"BadDomain", "ann@exa_mple.com", "ann@exa_mple.com", emailaddr.InvalidDomain},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := emailaddr.Canonical(tt.in)
			if got != tt.want || msg != tt.msg {
				t.Errorf("Canonical(%q) = %q, %q; want %q, %q", tt.in, got, msg, tt.want, tt.msg)
			}
		})
	}
}

func TestMixesScripts(t *testing.T) {
	for s, want := range map[string]bool{
		"":            false,
		"ann-42":      false,
		"\u0430nn":    true,  // Cyrillic а with Latin
		"αβγ":         false, // Greek alone
		"abcα":        true,
		"東京tokyo":     false,
		"서울seoul":     false,
		"ソウル서울":       true,  // Katakana with Hangul
		"e\u0301cole": false, // a combining mark belongs to no script
	} {
		if got := emailaddr.MixesScripts(s); got != want {
			t.Errorf("MixesScripts(%q) = %v, want %v", s, got, want)
		}
	}
}
