package backup

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

// Defaults of Config and Retention.
const (
	DefaultDir      = "./data/backups"
	DefaultKeepDays = 30 // the guide's retention
	DefaultKeep     = 7
)

// Config says where backups go and which database they are of.
type Config struct {
	// URL is the database's URL (DATABASE_URL): a SQLite file, or the
	// PostgreSQL or MySQL server the dump programs connect to. Required.
	URL string

	// Dir (KURA_BACKUP_DIR) is the folder of the backups, created 0700 if
	// absent. Empty means DefaultDir.
	Dir string

	// ScratchURL is the server on which Verify makes, and then drops, a
	// scratch database to restore into (PostgreSQL and MySQL). Its role
	// must be allowed to create databases. Empty means URL.
	ScratchURL string

	// AllowInsecure permits an unencrypted connection to a server that is
	// not local, as sqldb.Config.AllowInsecure.
	AllowInsecure bool

	// Progress, if set, is told how far a long step has come.
	Progress func(Progress)

	// Logger receives a line per backup, verify, restore and prune. Nil
	// means slog.Default().
	Logger *slog.Logger

	// Now is the clock, for names and times. Nil means time.Now.
	Now func() time.Time

	// KuraVersion is recorded in the manifest. Empty means kura.Version.
	KuraVersion string
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.ScratchURL == "" {
		c.ScratchURL = c.URL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.KuraVersion == "" {
		c.KuraVersion = kura.Version
	}
	return c
}

// Validate reports what is wrong with c. Its errors never quote a URL.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("backup: URL is empty: want the database's URL")
	}
	if _, err := sqldb.ParseDialect(c.URL); err != nil {
		return fmt.Errorf("backup: URL: %w", err)
	}
	if err := sqldb.CheckURL(c.URL); err != nil {
		return fmt.Errorf("backup: URL: %w", err)
	}
	if err := sqldb.CheckURL(c.ScratchURL); err != nil {
		return fmt.Errorf("backup: ScratchURL: %w", err)
	}
	if c.ScratchURL != "" {
		a, _ := sqldb.ParseDialect(c.URL)
		b, err := sqldb.ParseDialect(c.ScratchURL)
		if err != nil || a != b {
			return fmt.Errorf("backup: ScratchURL: want a %s URL, as URL", a)
		}
	}
	return nil
}

// Progress is how far a long step (Step) has come: Done of Total units
// (bytes, rows or tables); Total is 0 when it is not known.
type Progress struct {
	Step  string
	Unit  string
	Done  int64
	Total int64
}

// progress reports a step's progress to the Config's callback, if any.
type progress struct {
	fn  func(Progress)
	cur Progress
}

func newProgress(fn func(Progress)) *progress { return &progress{fn: fn} }

// start begins a step of total units (0: unknown).
func (p *progress) start(step, unit string, total int64) {
	if p == nil {
		return
	}
	p.cur = Progress{Step: step, Unit: unit, Total: total}
	p.report()
}

// add counts n more units done.
func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.cur.Done += n
	p.report()
}

// set sets how much is done.
func (p *progress) set(done int64) {
	if p == nil {
		return
	}
	p.cur.Done = done
	p.report()
}

func (p *progress) report() {
	if p.fn != nil {
		p.fn(p.cur)
	}
}

// writer counts the bytes written to w as progress.
func (p *progress) writer(w io.Writer) *countWriter {
	return &countWriter{w: w, p: p}
}

type countWriter struct {
	w io.Writer
	p *progress
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(int64(n))
	return n, err
}

// reader counts the bytes read from r as progress.
func (p *progress) reader(r io.Reader) *countReader {
	return &countReader{r: r, p: p}
}

type countReader struct {
	r io.Reader
	p *progress
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}
