package datamove

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kura-dev/kura/sqldb"
)

// DefaultChunkRows is how many rows a chunk holds when Options.ChunkRows
// is zero: one transaction on the target, with its checkpoint.
const DefaultChunkRows = 5000

// DefaultWriters is how many transactions write at once when
// Options.Writers is zero.
const DefaultWriters = 2

// DefaultFreezeTimeout is how long a cut-over waits for the source's
// instances to acknowledge read-only mode when Options.FreezeTimeout is
// zero: instances read the switch every second.
const DefaultFreezeTimeout = time.Minute

// Freezer stops and resumes the writes of every serving instance of the
// source: *sqldb.DB's read-only mode. EnterReadOnly returns once every
// live instance has acknowledged (writes answer 503, in-flight writes and
// running jobs are done).
type Freezer interface {
	EnterReadOnly(ctx context.Context, reason string) error
	LeaveReadOnly(ctx context.Context) error
}

// Options configure a move.
type Options struct {
	// Sets are the migration sets whose tables move, in the order they are
	// applied: store.Schema, jobs.Schema, then an application's own.
	// Required. The target gets its schema from them.
	Sets []*sqldb.Migrations

	// ChunkRows is how many rows each transaction on the target writes.
	// Zero means DefaultChunkRows.
	ChunkRows int

	// Writers is how many transactions write a table's chunks at once on
	// PostgreSQL and MySQL (SQLite has one writer). Zero means
	// DefaultWriters.
	Writers int

	// Force lets a move write into a target that holds tables not from an
	// earlier move of the same source: the rows of the moved tables are
	// deleted first. Without it such a target is refused.
	Force bool

	// Freeze, when set, makes the move a cut-over: after the copy and a
	// catch-up while the source serves, the source's instances are put
	// into read-only mode, the last changes are copied and verified, and
	// the target is marked as cut over. Nil: the move copies and verifies
	// as of one moment of the source and leaves its writes alone.
	Freeze Freezer

	// FreezeTimeout bounds the wait for every serving instance to
	// acknowledge read-only mode; past it the cut-over fails and the
	// source's writes resume. Zero means DefaultFreezeTimeout.
	FreezeTimeout time.Duration

	// AppendOnly names an application's tables whose rows are inserted and
	// deleted, never updated (kura's sessions and notifications are), so
	// that a cut-over looks for changes in them by counts and new keys
	// alone. A table with an updated_at column needs no entry.
	AppendOnly map[string]bool

	// Progress, if set, is told of each table's progress: rows done of
	// total.
	Progress func(table string, done, total int64)

	// Logger receives a line per phase. Nil logs nothing.
	Logger *slog.Logger
}

// Skipped is a table of the source a move leaves behind, and why.
type Skipped struct {
	Table  string `json:"table"`
	Reason string `json:"reason"`
}

// Report is what a move did and found.
type Report struct {
	SourceID string        `json:"source_id"`
	TargetID string        `json:"target_id"`
	Resumed  bool          `json:"resumed"` // an earlier run of the same move had begun
	Tables   []TableReport `json:"tables"`
	NotMoved []Skipped     `json:"not_moved"`
	// FinishedJobs is how many finished jobs (completed, cancelled,
	// discarded) of the source stay behind: waiting jobs move, history
	// does not.
	FinishedJobs int64         `json:"finished_jobs_not_moved"`
	Match        bool          `json:"match"`
	Duration     time.Duration `json:"duration_ns"`
	Freeze       time.Duration `json:"freeze_ns,omitempty"` // how long the source was read-only
	CutOver      bool          `json:"cut_over"`
}

// MismatchError is returned when, after a move, a table's rows differ
// between the source and the target.
type MismatchError struct{ Tables []TableReport }

func (e *MismatchError) Error() string {
	var parts []string
	for _, t := range e.Tables {
		parts = append(parts, fmt.Sprintf("table %s differs (source %d rows, target %d; first in %s)", t.Table, t.SourceRows, t.TargetRows, t.FirstDiff))
	}
	return "verification failed: " + strings.Join(parts, "; ")
}

// mover is one run of a move.
type mover struct {
	opts        Options
	fromDB      *sqldb.DB
	from        *source
	to          *target
	prec        time.Duration
	sourceID    string
	mu          sync.Mutex // guards checkpoints and known while tables copy at once
	srcMu       sync.Mutex // one read at a time on the snapshot's connection
	checkpoints map[string]checkpoint
	known       map[string]*knownSums // the source's sums, read in the current snapshot
	passes      map[string]*passState // what the last pass knew of the tables that matched
	tables      []*table
	rep         Report
	log         *slog.Logger
}

// Move copies every table of opts.Sets from the database from to the
// database to, of any engines, and verifies the copy: see the package
// documentation. A run cut short resumes where it stopped when run
// again. It only reads from. A difference after the copy is a
// *MismatchError, with the Report filled.
func Move(ctx context.Context, from, to *sqldb.DB, opts Options) (Report, error) {
	start := time.Now()
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = DefaultChunkRows
	}
	if opts.Writers <= 0 {
		opts.Writers = DefaultWriters
	}
	if len(opts.Sets) == 0 {
		return Report{}, errors.New("data move: no migration sets given (kura's own are store.Schema, jobs.Schema)")
	}
	m := &mover{opts: opts, fromDB: from, log: opts.Logger, checkpoints: map[string]checkpoint{}, passes: map[string]*passState{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.prec = time.Microsecond
	if from.Dialect() == sqldb.SQLite || to.Dialect() == sqldb.SQLite {
		m.prec = time.Millisecond
	}
	t, err := newTarget(to, opts.Writers)
	if err != nil {
		return Report{}, err
	}
	defer t.close()
	m.to = t
	if err := m.prepare(ctx); err != nil {
		return m.rep, err
	}
	err = m.run(ctx)
	m.rep.Duration = time.Since(start)
	return m.rep, err
}

// run copies, catches up and verifies; with a Freezer, it cuts over.
func (m *mover) run(ctx context.Context) error {
	if err := m.withSnapshot(ctx, m.bulk); err != nil {
		return err
	}
	if m.opts.Freeze == nil {
		return m.result()
	}
	return m.cutOver(ctx)
}

// bulk copies every table in one snapshot of the source, after catching
// up the tables an earlier run finished (their rows may have changed
// since), then syncs and verifies every table in the same snapshot.
//
// Tables are copied a level at a time: first those that reference no
// other, then those whose references are all copied, each level's tables
// at once (their reads take turns on the snapshot's one connection, their
// writes run side by side).
func (m *mover) bulk(ctx context.Context) error {
	for _, level := range levels(m.tables) {
		for _, tb := range level {
			if m.checkpoints[tb.name].done {
				m.log.Info("catching up a table an earlier run copied", "table", tb.name)
				if _, err := m.syncTable(ctx, tb, true); err != nil {
					return err
				}
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, tb := range level {
			if m.checkpoint(tb.name).done {
				continue
			}
			m.log.Info("copying", "table", tb.name)
			g.Go(func() error { return m.copyTable(gctx, tb) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return m.syncAll(ctx)
}

// levels groups tables by how deep their references go: level 0
// references no other table, level n only tables of lower levels.
func levels(tables []*table) [][]*table {
	level := map[string]int{}
	var out [][]*table
	for _, tb := range tables { // parents come first
		l := 0
		for _, p := range tb.parents {
			if pl, ok := level[p]; ok {
				l = max(l, pl+1)
			}
		}
		level[tb.name] = l
		for len(out) <= l {
			out = append(out, nil)
		}
		out[l] = append(out[l], tb)
	}
	return out
}

// checkpoint returns a table's checkpoint; setCheckpoint records one and,
// when the source's sums were taken as it was copied, those.
func (m *mover) checkpoint(name string) checkpoint {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkpoints[name]
}

func (m *mover) setCheckpoint(name string, cp checkpoint, known *knownSums) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.checkpoints[name] = cp
	if known != nil {
		m.known[name] = known
	}
}

// syncAll catches up and verifies every table, parents first, and resets
// the target's sequences.
func (m *mover) syncAll(ctx context.Context) error {
	m.rep.Tables = m.rep.Tables[:0]
	for _, tb := range m.tables {
		m.progress(tb.name+" (verify)", 0, 1)
		r, err := m.syncTable(ctx, tb, true)
		if err != nil {
			return err
		}
		m.progress(tb.name+" (verify)", 1, 1)
		m.rep.Tables = append(m.rep.Tables, r)
	}
	for _, tb := range m.tables {
		if err := m.to.resetSerial(ctx, tb); err != nil {
			return m.targetErr(err)
		}
	}
	return nil
}

// deltaAll catches up and verifies every table from its last pass, under
// the freeze, and resets the target's sequences.
func (m *mover) deltaAll(ctx context.Context) error {
	var reps []TableReport
	for _, tb := range m.tables {
		r, ok, err := m.deltaTable(ctx, tb)
		if err != nil {
			return err
		}
		if !ok {
			if r, err = m.syncTable(ctx, tb, true); err != nil {
				return err
			}
		}
		reps = append(reps, r)
	}
	m.rep.Tables = reps
	for _, tb := range m.tables {
		if err := m.to.resetSerial(ctx, tb); err != nil {
			return m.targetErr(err)
		}
	}
	return nil
}

// cutOver freezes the source's writes, copies what changed and verifies.
// On any failure the source's writes resume.
func (m *mover) cutOver(ctx context.Context) (err error) {
	m.log.Info("entering read-only mode on the source")
	frozen := time.Now()
	wait := m.opts.FreezeTimeout
	if wait <= 0 {
		wait = DefaultFreezeTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	err = m.opts.Freeze.EnterReadOnly(wctx, "data move: cut-over")
	cancel()
	if err != nil {
		err = fmt.Errorf("put the source's instances into read-only mode: %w", err)
		if lerr := m.opts.Freeze.LeaveReadOnly(context.WithoutCancel(ctx)); lerr != nil {
			err = fmt.Errorf("%w; and leaving read-only mode failed too: %v", err, lerr)
		}
		return err
	}
	m.log.Info("the source is read-only", "waited", time.Since(frozen))
	defer func() {
		m.rep.Freeze = time.Since(frozen)
		if err != nil {
			if lerr := m.opts.Freeze.LeaveReadOnly(context.WithoutCancel(ctx)); lerr != nil {
				err = fmt.Errorf("%w; and leaving read-only mode failed too: %v", err, lerr)
			}
		}
	}()
	if err := m.withSnapshot(ctx, m.deltaAll); err != nil {
		return err
	}
	if err := m.result(); err != nil {
		return err
	}
	if err := markCutOver(ctx, m.to, time.Now()); err != nil {
		return fmt.Errorf("mark the target as cut over: %w", m.targetErr(err))
	}
	m.rep.CutOver = true
	return nil
}

// result sets the report's verdict.
func (m *mover) result() error {
	var bad []TableReport
	for _, t := range m.rep.Tables {
		if !t.Match {
			bad = append(bad, t)
		}
	}
	m.rep.Match = len(bad) == 0
	if len(bad) > 0 {
		return &MismatchError{Tables: bad}
	}
	return nil
}

// withSnapshot runs fn with m.from reading one snapshot of the source.
func (m *mover) withSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	d := m.fromDB.Dialect()
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if d == sqldb.SQLite {
		opts = nil // a read transaction is a snapshot in WAL mode
	}
	tx, err := m.fromDB.Reader().BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin reading the source: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM kura_database").Scan(&n); err != nil {
		return fmt.Errorf("begin reading the source: %w", err)
	}
	m.from = &source{q: tx, d: d}
	m.known = map[string]*knownSums{}
	return fn(ctx)
}

func (m *mover) progress(table string, done, total int64) {
	if m.opts.Progress != nil {
		m.opts.Progress(table, done, total)
	}
}

// targetErr explains an error of the target that a rerun recovers from.
func (m *mover) targetErr(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "disk is full"), strings.Contains(msg, "No space left"), strings.Contains(msg, "disk full"):
		return fmt.Errorf("%w (the target's disk is full: free space, then run the same command again; it resumes from the last chunk written)", err)
	case errors.As(err, new(net.Error)), errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(msg, "conn closed"), strings.Contains(msg, "connect"), strings.Contains(msg, "connection"),
		strings.Contains(msg, "broken pipe"), strings.Contains(msg, "EOF"), strings.Contains(msg, "unavailable"):
		return fmt.Errorf("%w (the target is unreachable: run the same command again once it is back; it resumes from the last chunk written)", err)
	}
	return err
}

// sortedKeys returns the keys of a set, sorted.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
