// Package credurl reads the credentials of a URL given in a setting
// (DATABASE_URL, REDIS_URL, a health check's URL) without ever echoing
// them, even when they are written wrong.
//
// A password that holds '@', '/', '%', '#' or '?' unescaped makes a URL
// that parsers read differently: net/url, pgx and the MySQL driver
// each take part of the password for the host, the path, the query or the
// fragment, and their errors, or a dial error, then print that part.
// Check refuses such a URL before any parser or connection sees it, with a
// message that says how to escape the password and quotes nothing of it;
// Redact hides everything between "://" and the last "@" of such a URL.
package credurl

import (
	"errors"
	"net/url"
	"strings"
)

// Mask stands for a hidden password, or hidden user information.
const Mask = "xxxxx"

// ErrMalformed is Check's error. Its message names no part of the URL.
var ErrMalformed = errors.New("the URL could not be read: its user name or password holds a character " +
	"that must be percent-escaped (@ as %40, / as %2F, % as %25, # as %23, ? as %3F, : as %3A; " +
	"other characters outside letters, digits and -._~!$&'()*+,;= as %XX)")

// Check returns ErrMalformed when the user information of rawURL is not
// exactly what a parser would find, and nil otherwise, a URL without
// "://" or without user information included. The rules, after "://":
// the last '@' of the whole URL must lie in the authority (before the
// first '/', '?' or '#'), so no part of the password can end up in the
// path, the query or the fragment; the user information (the authority up
// to that '@') holds only the characters RFC 3986 allows there (letters,
// digits, -._~!$&'()*+,;= and ':'), so no second '@', and '%' only as the
// start of a %XX escape. A URL whose authority is empty
// ("sqlite:///path@x.db", "unix:///run/redis.sock") has no user
// information and is not checked further.
func Check(rawURL string) error {
	_, after, ok := strings.Cut(rawURL, "://")
	if !ok || after == "" || after[0] == '/' {
		return nil
	}
	end := authorityEnd(after)
	last := strings.LastIndexByte(after, '@')
	if last < 0 {
		return nil
	}
	if last >= end {
		return ErrMalformed
	}
	if !validUserinfo(after[:last]) {
		return ErrMalformed
	}
	return nil
}

// Malformed reports whether Check refuses rawURL.
func Malformed(rawURL string) bool { return Check(rawURL) != nil }

// authorityEnd returns the length of the authority at the start of s, the
// text after "://": up to the first '/', '?' or '#'.
func authorityEnd(s string) int {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		return i
	}
	return len(s)
}

// validUserinfo reports whether s is user information as RFC 3986 writes
// it: unreserved characters, sub-delims, ':' and %XX escapes. A ':' after
// the first is allowed: every parser kura hands a URL to (net/url, pgx,
// libpq) splits the user from the password at the first one and keeps the
// rest in the password, so a password with a ':' is read as written.
func validUserinfo(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Redact returns rawURL safe to print: a password in the user information
// replaced by Mask; for a URL Check refuses, everything between "://" and
// the last '@' replaced by Mask; for one that does not parse, everything
// after "://" (or all of it, without "://").
func Redact(rawURL string) string {
	if Malformed(rawURL) {
		i := strings.Index(rawURL, "://") + 3
		return rawURL[:i] + Mask + rawURL[strings.LastIndexByte(rawURL, '@'):]
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i >= 0 {
			return rawURL[:i+3] + Mask
		}
		return Mask
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Mask)
	}
	return u.String()
}

// WithoutUserinfo returns rawURL with its user information, if any,
// replaced by Mask: for a URL whose user name is private too, such as one
// a command was given to call. A URL Check refuses or that does not parse
// is redacted as by Redact.
func WithoutUserinfo(rawURL string) string {
	if Malformed(rawURL) {
		return Redact(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return Redact(rawURL)
	}
	if u.User != nil {
		u.User = url.User(Mask)
	}
	return u.String()
}

// Secrets returns the pieces of rawURL's user information a message could
// quote, to scrub: the password (decoded and as written) of a URL that
// parses; for one Check refuses, everything between "://" and the last
// '@', and the part of it after its first ':'. Pieces shorter than three
// characters are left out (scrubbing them would mangle messages).
func Secrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 {
			out = append(out, s)
		}
	}
	_, after, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	if Malformed(rawURL) {
		info := after[:strings.LastIndexByte(after, '@')]
		add(info)
		if _, pw, ok := strings.Cut(info, ":"); ok {
			add(pw)
		}
		return out
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	if pw, ok := u.User.Password(); ok {
		add(pw)
		if info := after[:authorityEnd(after)]; strings.Contains(info, "@") {
			_, raw, _ := strings.Cut(info[:strings.LastIndexByte(info, '@')], ":")
			if raw != pw {
				add(raw)
			}
		}
	}
	return out
}
