package backup

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// What a dump or restore program writes to stderr when it fails can quote
// the data it was reading: the mariadb client prints the whole failing
// INSERT (kilobytes of emails and password hashes), its error line quotes
// the text "near" the fault and the value of a duplicate key, PostgreSQL's
// a COPY line as CONTEXT and the failing row as DETAIL. An error of
// kura's goes to the log, to stderr, into the manifest and into the run
// log: toolMessage keeps only the lines that say what failed, with every
// quoted value replaced by '…' and each line bounded.

// maxToolLines and maxToolLine bound what toolMessage keeps.
const (
	maxToolLines = 4
	maxToolLine  = 300
)

// messagePrefixes start the lines the programs write to say what failed.
var messagePrefixes = []string{
	"ERROR", "FATAL", "WARNING", "error:", "warning:", "Got error",
	"mariadb:", "mariadb-dump:", "mysql:", "mysqldump:", "pg_dump:", "pg_restore:", "psql:",
}

var (
	// near '…' in a MySQL syntax error quotes the script from the fault on.
	nearRE = regexp.MustCompile(`(?s) near '.*`)
	// A single-quoted string: a value to MySQL (its identifiers are in
	// backticks), except the name of a key.
	singleRE = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'`)
	// A double-quoted string: an identifier to PostgreSQL, or a value
	// when it follows a colon ("invalid input syntax for type integer:
	// "abc"").
	doubleRE = regexp.MustCompile(`(: *)?"(?:[^"\\]|\\.|"")*"`)
	// An identifier as PostgreSQL quotes one: short, no @.
	identRE = regexp.MustCompile(`^"[\p{L}\p{N}_$. -]{1,63}"$`)
)

// toolMessage returns the lines of a program's stderr that say what
// failed, without the data they quote, or "" when none does.
func toolMessage(stderr string) string {
	var kept []string
	last := ""
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line != "" {
			last = line
		}
		if !isMessage(line) {
			continue
		}
		kept = append(kept, bound(scrubLine(line), maxToolLine))
	}
	if len(kept) == 0 && plain(last) {
		return last // a short line of words, such as "out of memory"
	}
	if len(kept) > maxToolLines {
		kept = append(kept[:maxToolLines-1], kept[len(kept)-1]) // the first lines and the last
	}
	return strings.Join(kept, "; ")
}

// plainRE is a short line of words: no quotes, no @, no long token.
var plainRE = regexp.MustCompile(`^[\p{L}\p{N} ,.:;()_/-]{1,80}$`)

func plain(line string) bool {
	if !plainRE.MatchString(line) {
		return false
	}
	for _, f := range strings.Fields(line) {
		if len(f) > 32 {
			return false
		}
	}
	return true
}

func isMessage(line string) bool {
	for _, p := range messagePrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// scrubLine replaces the values a message line quotes with '…'.
func scrubLine(line string) string {
	line = nearRE.ReplaceAllString(line, " near '…'")
	line = replaceQuoted(line, singleRE, func(before, q string) string {
		// The key of a duplicate entry is the schema's, not the data's.
		if strings.HasSuffix(before, "for key ") && len(q) <= 66 {
			return q
		}
		return "'…'"
	})
	line = doubleRE.ReplaceAllStringFunc(line, func(q string) string {
		if strings.HasPrefix(q, ":") || !identRE.MatchString(q) {
			colon := q[:strings.IndexByte(q, '"')]
			return colon + `"…"`
		}
		return q
	})
	return line
}

// replaceQuoted replaces each match of re in s by what fn returns, given
// the text before it.
func replaceQuoted(s string, re *regexp.Regexp, fn func(before, q string) string) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		b.WriteString(s[last:m[0]])
		b.WriteString(fn(s[:m[0]], s[m[0]:m[1]]))
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// bound cuts s to at most n bytes, on a rune boundary, marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
