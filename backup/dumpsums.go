package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sort"
)

// dumpSums reads a mysqldump/mariadb-dump script as it is written and
// counts, per table, the rows its INSERT statements hold, with a sha256
// over each row's text. The programs write a row on one line or many rows
// on one (a newline inside a value is written \n) and escape quotes with a
// backslash, and two dumps of equal content by one program write equal
// rows, in primary-key order: so the sums of a backup, taken from its own
// dump, can be compared with a dump of the database it was restored into.
type dumpSums struct {
	line   []byte     // the line being written, outside an INSERT's rows
	in     *dumpTable // the table whose rows are being read, nil outside
	row    []byte     // the row being read
	depth  int        // parentheses open in the rows, outside strings
	quoted bool       // inside a quoted string
	escape bool       // after a backslash in a quoted string
	skip   bool       // the end of an INSERT's last line, up to its newline
	rest   []byte     // the part of an INSERT's first line after VALUES
	tables map[string]*dumpTable
	order  []string
}

type dumpTable struct {
	rows int64
	sum  hash.Hash
}

func newDumpSums() *dumpSums { return &dumpSums{tables: map[string]*dumpTable{}} }

var (
	createPrefix = []byte("CREATE TABLE `")
	insertPrefix = []byte("INSERT INTO `")
	valuesWord   = []byte("` VALUES")
)

// Write takes the next bytes of the dump.
func (d *dumpSums) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.in != nil {
			p = d.rows(p)
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !d.skip {
				d.line = append(d.line, p...)
			}
			break
		}
		if !d.skip {
			d.line = append(d.line, p[:i]...)
			d.take(d.line)
		}
		d.line, d.skip = d.line[:0], false
		p = p[i+1:]
		if d.in != nil && len(d.rest) > 0 {
			rest := d.rest
			d.rest = nil
			d.rows(rest)
			d.skip = false // the line's newline is behind already
		}
	}
	return n, nil
}

// take reads one whole line outside an INSERT's rows.
func (d *dumpSums) take(line []byte) {
	switch {
	case bytes.HasPrefix(line, createPrefix):
		rest := line[len(createPrefix):]
		if end := bytes.IndexByte(rest, '`'); end > 0 {
			d.table(string(rest[:end]))
		}
	case bytes.HasPrefix(line, insertPrefix):
		rest := line[len(insertPrefix):]
		end := bytes.Index(rest, valuesWord)
		if end <= 0 {
			return
		}
		d.in = d.table(string(rest[:end]))
		d.depth, d.quoted, d.escape = 0, false, false
		// The rows may begin on this line: read them once the line is
		// handed back (its bytes are the line buffer's).
		d.rest = append([]byte(nil), rest[end+len(valuesWord):]...)
		d.rest = append(d.rest, '\n')
	}
}

func (d *dumpSums) table(name string) *dumpTable {
	t, ok := d.tables[name]
	if !ok {
		t = &dumpTable{sum: sha256.New()}
		d.tables[name] = t
		d.order = append(d.order, name)
	}
	return t
}

// rows reads the rows of an INSERT from p, up to the ';' that ends it,
// and returns what follows.
func (d *dumpSums) rows(p []byte) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if d.depth > 0 {
			d.row = append(d.row, c)
		}
		switch {
		case d.escape:
			d.escape = false
		case d.quoted && c == '\\':
			d.escape = true
		case c == '\'':
			d.quoted = !d.quoted
		case d.quoted:
		case c == '(':
			if d.depth == 0 {
				d.row = append(d.row[:0], c)
			}
			d.depth++
		case c == ')':
			d.depth--
			if d.depth == 0 {
				d.in.sum.Write(d.row)
				d.in.sum.Write([]byte{'\n'})
				d.in.rows++
				d.row = d.row[:0]
			}
		case c == ';' && d.depth == 0:
			d.in, d.skip = nil, true
			return p[i+1:]
		}
	}
	return nil
}

// sums returns the tables' row counts and checksums, by name.
func (d *dumpSums) sums() []Table {
	out := make([]Table, 0, len(d.tables))
	for _, name := range d.order {
		t := d.tables[name]
		out = append(out, Table{Name: name, Rows: t.rows, Checksum: hex.EncodeToString(t.sum.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
