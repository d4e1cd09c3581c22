package emailaddr_test

import (
	"strings"
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
		// Letters with diacritics are letters: NFKC leaves them.
		{"Diacritics", "Zoë.Ångström.Łukasz.Nguyễn@example.com", "zoë.ångström.łukasz.nguyễn@example.com", ""},
		// The domain's look-alike spellings are one domain (IDNA maps them).
		{"FullWidthDomain", "ann@ｅｘａｍｐｌｅ.com", "ann@example.com", ""},
		{"SoftHyphenDomain", "ann@exa\u00admple.com", "ann@example.com", ""},
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

// TestCanonical_LocalPartRefusals: every invisible, formatting or
// direction-changing character, and every compatibility form of a letter,
// is refused in the local part, and the form returned is the one a stored
// address has, so that a login by it still finds the account.
func TestCanonical_LocalPartRefusals(t *testing.T) {
	invisible := map[string]rune{
		"ZeroWidthSpace": 0x200B, "ZWNJ": 0x200C, "ZWJ": 0x200D, "LRM": 0x200E, "RLM": 0x200F,
		"LRE": 0x202A, "RLE": 0x202B, "PDF": 0x202C, "LRO": 0x202D, "RLO": 0x202E,
		"WordJoiner": 0x2060, "FunctionApplication": 0x2061, "InvisibleTimes": 0x2062, "InvisibleSeparator": 0x2063, "InvisiblePlus": 0x2064,
		"LRI": 0x2066, "RLI": 0x2067, "FSI": 0x2068, "PDI": 0x2069,
		"SoftHyphen": 0x00AD, "BOM": 0xFEFF, "MongolianVowelSeparator": 0x180E, "ArabicLetterMark": 0x061C,
		"VS1": 0xFE00, "VS16": 0xFE0F, "VS17": 0xE0100, "MongolianFVS1": 0x180B,
		"TagA": 0xE0041, "CancelTag": 0xE007F, "LanguageTag": 0xE0001,
		"CombiningGraphemeJoiner": 0x034F, "HangulFiller": 0x3164, "HangulChoseongFiller": 0x115F, "HalfwidthHangulFiller": 0xFFA0,
		"NoBreakSpace": 0x00A0, "IdeographicSpace": 0x3000, "LineSeparator": 0x2028, "Unassigned2065": 0x2065,
	}
	for name, r := range invisible {
		t.Run("Invisible/"+name, func(t *testing.T) {
			in := "An" + string(r) + "n@Example.com"
			got, msg := emailaddr.Canonical(in)
			if msg != emailaddr.Invisible {
				t.Errorf("Canonical(%+q) message = %q; want Invisible", in, msg)
			}
			if want := "an" + string(r) + "n@example.com"; got != want {
				t.Errorf("Canonical(%+q) = %+q; want the canonical form %+q, as stored before", in, got, want)
			}
		})
	}
	compat := map[string]string{
		"FullWidth":      "\uff41nn",     // ａnn
		"FullWidthUpper": "\uff21NN",     // ＡNN, lower-cased first
		"MathBold":       "\U0001d41anm", // 𝐚nm
		"MathScript":     "\u212fve",     // ℯve
		"MathFraktur":    "\U0001d51e\U0001d52b\U0001d52b",
		"LigatureFi":     "\ufb01ona",   // ﬁona
		"LigatureFfl":    "wa\ufb04e",   // waﬄe
		"LongS":          "\u017fam",    // ſam
		"Superscript2":   "ann\u00b2",   // ann²
		"SuperscriptA":   "\u00aann",    // ªnn
		"Subscript":      "ann\u2082",   // ann₂
		"Circled":        "\u24d0nn",    // ⓐnn
		"RomanNumeral":   "louis\u2167", // louisⅧ
		"ScriptL":        "pau\u2113",   // pauℓ
		"Micro":          "\u00b5ller",  // µller (the micro sign, not Greek mu)
		"DigraphDz":      "\u01c6ordje", // ǆordje
		"HalfwidthKana":  "\uff76\uff85",
		"FullWidthDigit": "ann\uff11",
	}
	for name, local := range compat {
		t.Run("Compatibility/"+name, func(t *testing.T) {
			got, msg := emailaddr.Canonical(local + "@example.com")
			if msg != emailaddr.Compatibility {
				t.Errorf("Canonical(%+q) message = %q; want Compatibility", local, msg)
			}
			if got == "" || !strings.HasSuffix(got, "@example.com") {
				t.Errorf("Canonical(%+q) = %+q; want the address back", local, got)
			}
		})
	}
}
