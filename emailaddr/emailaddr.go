// Package emailaddr puts an email address in the one form kura stores and
// compares, so that two accounts cannot differ only by how an address was
// typed, and refuses the addresses that only look like another.
//
// The form: trimmed; Unicode NFC (a precomposed "é" and "e" followed by a
// combining accent are one address); the local part lower-cased; the domain
// mapped by IDNA (UTS #46, the lookup profile browsers use) and kept in its
// Unicode form, so "bücher.de", "BÜCHER.de" and "xn--bcher-kva.de" are one
// domain. A local part or a domain label whose letters mix scripts, such
// as Latin with Cyrillic or Greek ("pаypal" with a Cyrillic "а"), is
// refused: it is the usual way to make an address that reads like someone
// else's. The combinations Japanese, Chinese and Korean writing use with
// Latin are allowed (UTS #39's highly restrictive level).
//
// The local part is refused, too, when it holds a character that shows
// nothing or changes what is shown around it (Unicode format characters,
// Cf, such as U+200B ZERO WIDTH SPACE, U+00AD SOFT HYPHEN, U+202E
// RIGHT-TO-LEFT OVERRIDE, U+FEFF and the tag characters; variation
// selectors and the other default-ignorable code points; controls and
// spaces), or a compatibility form of a letter: a character that Unicode's
// compatibility normalisation (NFKC) replaces, such as full-width "ａ",
// mathematical "𝐚", the ligature "ﬁ", superscript "ª" or "²", the long
// "ſ". Those read as the plain letters, so "ａnn" or "ﬁona" would pass for
// "ann" or "fiona". Letters with diacritics are letters of their own and
// stay: "é" is not "e", and NFKC leaves it as it is. The domain needs no
// such rule: IDNA maps it, so its look-alike spellings are the same domain.
//
// The domain package kura stays standard-library only; this package is the
// adapters' (sqldb's user and session services apply it), because it needs
// golang.org/x/text and golang.org/x/net for Unicode normalisation and
// IDNA.
package emailaddr

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Messages for the "email" field of an EINVALID error.
const (
	InvalidDomain = "must be a valid email address"
	MixedScripts  = "must not mix scripts (such as Latin with Cyrillic or Greek) in its local part or in a domain label"
	Invisible     = "must not hold invisible, formatting or direction-changing characters (such as U+200B, U+00AD or U+202E) in its local part"
	Compatibility = "must not hold compatibility forms of letters (full-width, mathematical, ligature or superscript letters, such as ａ, 𝐚, ﬁ or ²) in its local part: type the plain letters"
)

// Canonical returns s in kura's canonical form (see the package
// documentation) and "", or s trimmed and lower-cased and the message for
// the email field when s cannot be put in that form, mixes scripts or
// holds a character refused in the local part. An address without "@" is
// returned trimmed and lower-cased with no message: kura's own validation
// refuses it. The form returned does not depend on the message: an
// address stored before a rule refused it is still found by its stored
// form (the login ignores the message).
func Canonical(s string) (string, string) {
	s = norm.NFC.String(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return strings.ToLower(s), ""
	}
	local := norm.NFC.String(strings.ToLower(s[:at]))
	ascii, err := idna.Lookup.ToASCII(s[at+1:])
	if err != nil {
		return strings.ToLower(s), InvalidDomain
	}
	domain, err := idna.Lookup.ToUnicode(ascii) // also reads an xn-- label given as such
	if err != nil {
		return strings.ToLower(s), InvalidDomain
	}
	if msg := LocalPartMessage(local); msg != "" {
		return local + "@" + domain, msg
	}
	for label := range strings.SplitSeq(domain, ".") {
		if MixesScripts(label) {
			return local + "@" + domain, MixedScripts
		}
	}
	return local + "@" + domain, ""
}

// LocalPartMessage returns the message refusing local, a local part in
// NFC, or "" when it is allowed: Invisible for a character that shows
// nothing or changes the direction of what follows, Compatibility for a
// compatibility form of a letter, MixedScripts for letters of scripts
// that do not go together.
func LocalPartMessage(local string) string {
	for _, r := range local {
		if r >= utf8.RuneSelf && invisible(r) || r < ' ' || r == 0x7f {
			return Invisible
		}
	}
	if !norm.NFKC.IsNormalString(local) {
		return Compatibility
	}
	if MixesScripts(local) {
		return MixedScripts
	}
	return ""
}

// invisible reports whether r shows nothing, or changes how the
// characters around it show: a format character (Cf: zero-width
// characters, joiners, bidirectional controls, the soft hyphen, the byte
// order mark, tag characters), a default-ignorable code point (variation
// selectors, Hangul fillers, the combining grapheme joiner), a control, a
// space or a line or paragraph separator.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Cc, unicode.Zs, unicode.Zl, unicode.Zp,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// MixesScripts reports whether the letters of s belong to more than one
// script, beyond the combinations allowed with Latin and Han: Hiragana
// and Katakana, Bopomofo, or Hangul. Digits, punctuation and combining
// marks belong to no script and are ignored.
func MixesScripts(s string) bool {
	var seen []string
	for _, r := range s {
		name := scriptOf(r)
		if name != "" && !contains(seen, name) {
			seen = append(seen, name)
		}
	}
	if len(seen) < 2 {
		return false
	}
	for _, allowed := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		if subset(seen, allowed) {
			return false
		}
	}
	return true
}

// scriptOf returns the name of the script of the letter r, or "" for
// anything else.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return ""
	}
	if !unicode.IsLetter(r) {
		return ""
	}
	for _, name := range common {
		if unicode.Is(unicode.Scripts[name], r) {
			return name
		}
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// common are the scripts looked up first.
var common = []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew"}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func subset(a, b []string) bool {
	for _, v := range a {
		if !contains(b, v) {
			return false
		}
	}
	return true
}
