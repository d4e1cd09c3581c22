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
)

// Canonical returns s in kura's canonical form (see the package
// documentation) and "", or s trimmed and lower-cased and the message for
// the email field when s cannot be put in that form or mixes scripts. An
// address without "@" is returned trimmed and lower-cased with no message:
// kura's own validation refuses it.
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
	if MixesScripts(local) {
		return local + "@" + domain, MixedScripts
	}
	for label := range strings.SplitSeq(domain, ".") {
		if MixesScripts(label) {
			return local + "@" + domain, MixedScripts
		}
	}
	return local + "@" + domain, ""
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
