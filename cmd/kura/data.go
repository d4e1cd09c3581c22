package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/sqldb"
)

const dataAbout = `Move the data between engines: SQLite, PostgreSQL, MySQL/MariaDB, any direction.`

// dataCommands are the subcommands of kura data.
var dataCommands = []entry{
	{"move", "copy every table to another engine, verified and resumable; --cut-over freezes writes for seconds and switches", func(m *Main) Command { return &dataMoveCommand{m: m} }},
}

// dataMoveCommand copies kura's and the job queue's tables from one
// database to another.
type dataMoveCommand struct {
	m         *Main
	cf        configFlags
	from, to  urlFlag
	force     bool
	cutOver   bool
	jsonOut   bool
	chunkRows int
}

var dataMoveDoc = doc{
	synopsis: "data move [--from-env VARIABLE|--from URL] --to-env VARIABLE|--to URL [--cut-over] [--force] [--chunk-rows N] [--json] [--env-file FILE]",
	about: `Copy every table of kura's and the job queue's migration sets from one
database (--from; without it, the one DATABASE_URL names, opened with the
DB_* pool settings) to another, of any engine (SQLite → PostgreSQL, SQLite → MariaDB,
PostgreSQL → SQLite for a development copy, ...), then verify it: per table,
row counts and checksums over one canonical encoding on both sides. A
difference exits 1 naming the table and its first differing key range.
--json prints the per-table figures.

The target gets its schema from the migrations (kura migrate up on it, done
here). The source is only read; it may serve meanwhile. Rows are copied in
key order, a chunk per transaction on the target with its checkpoint (table
kura_data_move): after a kill, a lost connection or a full disk, the same
command again resumes after the last chunk and never copies a row twice; it
first catches up what the source changed since. A target that holds tables
not from an earlier move of the same source is refused without --force,
which deletes the rows of the moved tables first.

Not moved: the target keeps its own identity (kura_database); per-process
tables (kura_instances, kura_job_clients, River's leader, clients and
queues), cache_invalidations, backup_runs and the migration histories stay.
Waiting jobs move (available, scheduled, retryable); finished jobs are the
source's history and are counted, not moved.

--cut-over: after the copy and a catch-up while the source serves, put the
source's serving instances into read-only mode (writes answer 503 with
Retry-After, reads go on, job workers pause), copy what changed, verify,
and print the setting to switch every instance to. On any failure the
source leaves read-only mode. See docs/OPERATIONS.md, "Moving from SQLite
to PostgreSQL".`,
	env: envLog | envDB,
}

func (c *dataMoveCommand) flags() *flag.FlagSet {
	fs := newFlagSet("data move", &c.cf)
	c.from, c.to = urlFlag{name: "from"}, urlFlag{name: "to"}
	c.from.register(fs, "the database to move from")
	c.to.register(fs, "the database to move into")
	fs.BoolVar(&c.force, "force", false, "write into a target that holds tables not from a move of this source (their rows are deleted)")
	fs.BoolVar(&c.cutOver, "cut-over", false, "freeze the source's writes, copy the last changes, verify and print the setting to switch to")
	fs.IntVar(&c.chunkRows, "chunk-rows", datamove.DefaultChunkRows, "rows per transaction on the target")
	fs.BoolVar(&c.jsonOut, "json", false, "print the per-table figures as JSON")
	return fs
}

func (c *dataMoveCommand) Usage(w io.Writer) { printUsage(w, dataMoveDoc, c.flags()) }

func (c *dataMoveCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return c.m.usageErr(c, "data move takes no arguments")
	case !c.to.given():
		return c.m.usageErr(c, "data move needs --to (or --to-env): the database to move into")
	case c.chunkRows < 1:
		return c.m.usageErr(c, "--chunk-rows must be at least 1")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	warn := func(msg string) { fmt.Fprintln(c.m.Stderr, "kura: warning:", msg) }
	src := c.cf.source(c.m)
	fromURL := cfg.URL()
	if fromURL == "" {
		fromURL = sqldb.DefaultURL // as serve opens it
	}
	if c.from.given() {
		fromURL, err = c.from.resolve(src, warn)
	}
	if err == nil {
		var toURL string
		if toURL, err = c.to.resolve(src, warn); err == nil {
			return c.move(ctx, cfg, fromURL, toURL)
		}
	}
	if u, ok := err.(usageError); ok {
		return c.m.usageErr(c, u.msg)
	}
	return err
}

func (c *dataMoveCommand) move(ctx context.Context, cfg Config, fromURL, toURL string) error {
	if err := checkMoveURLs(fromURL, toURL); err != nil {
		return err
	}
	log := cfg.Logger(c.m.Stderr)
	fromCfg := cfg.DB(log)
	fromCfg.URL = fromURL
	from, err := sqldb.Open(ctx, fromCfg)
	if err != nil {
		return fmt.Errorf("open the source: %w", err)
	}
	defer from.Close()
	to, err := sqldb.Open(ctx, sqldb.Config{URL: toURL, Logger: log})
	if err != nil {
		return fmt.Errorf("open the target: %w", err)
	}
	defer to.Close()
	bars := newProgressBars(c.m.Stderr)
	var barsMu sync.Mutex // tables of one level copy at once
	opts := datamove.Options{Sets: schemas, ChunkRows: c.chunkRows, Force: c.force, Logger: log,
		Progress: func(table string, done, total int64) {
			barsMu.Lock()
			defer barsMu.Unlock()
			bars.update(table, "rows", done, total)
		}}
	if c.cutOver {
		opts.Freeze = from
	}
	rep, err := datamove.Move(ctx, from, to, opts)
	bars.finish()
	if err != nil && !errors.As(err, new(*datamove.MismatchError)) {
		return err
	}
	if perr := c.print(rep, toURL); perr != nil {
		return perr
	}
	return err
}

// print writes the report: JSON, or a table and what to do next.
func (c *dataMoveCommand) print(rep datamove.Report, toURL string) error {
	if c.jsonOut {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "table\tsource rows\ttarget rows\tchecksum\tverified\n")
	for _, t := range rep.Tables {
		ok := "match"
		if !t.Match {
			ok = "DIFFERS from " + t.FirstDiff
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.16s\t%s\n", t.Table, t.SourceRows, t.TargetRows, t.TargetChecksum, ok)
	}
	w.Flush()
	for _, s := range rep.NotMoved {
		fmt.Fprintf(c.m.Stdout, "not moved: %s (%s)\n", s.Table, s.Reason)
	}
	fmt.Fprintf(c.m.Stdout, "moved in %s", rep.Duration.Round(time.Millisecond))
	if rep.Resumed {
		fmt.Fprint(c.m.Stdout, " (resumed)")
	}
	fmt.Fprintln(c.m.Stdout)
	if rep.CutOver {
		target := sqldb.RedactURL(toURL)
		if c.to.envName != "" {
			target = "the value of " + c.to.envName + " (" + target + ")"
		}
		fmt.Fprintf(c.m.Stdout, "cut over: the source was read-only for %s and stays so.\nSwitch every instance to the target, then restart it:\n  DATABASE_URL=%s\n",
			rep.Freeze.Round(time.Millisecond), target)
	}
	return nil
}

// checkMoveURLs refuses the same database twice, and a SQLite source that
// does not exist (opening it would make an empty one).
func checkMoveURLs(fromURL, toURL string) error {
	fd, err := sqldb.ParseDialect(fromURL)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	td, err := sqldb.ParseDialect(toURL)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	if fd == sqldb.SQLite {
		p, err := sqldb.SQLitePath(fromURL)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("the source %s does not exist: --from names the database to move from", p)
		}
	}
	if fd == td && databaseKey(fd, fromURL) == databaseKey(td, toURL) {
		return errors.New("--from and --to name the same database: the target must be another one")
	}
	return nil
}

// databaseKey is what tells two databases of an engine apart: a file's
// path, or a server's address and a database's name.
func databaseKey(d sqldb.Dialect, raw string) string {
	if d == sqldb.SQLite {
		p, _ := sqldb.SQLitePath(raw)
		return p
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	host := u.Hostname()
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = map[sqldb.Dialect]string{sqldb.Postgres: "5432", sqldb.MySQL: "3306"}[d]
	}
	return host + ":" + port + "/" + strings.TrimPrefix(u.Path, "/")
}
