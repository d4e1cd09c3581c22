package maintain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// Defaults that WithDefaults fills in for zero fields of Options.
const (
	// DefaultVacuumFreeRatio: SQLite is vacuumed when a quarter of its
	// pages are free. VACUUM rewrites the whole file holding the one write
	// lock, and free pages are reused by later inserts anyway, so a small
	// free list costs nothing; a quarter of the file is space worth a
	// rewrite that lasts about a second per 100 MB.
	DefaultVacuumFreeRatio = 0.25
	// DefaultVacuumMinFree: and only when the free pages come to 1 MiB or
	// more: half of a tiny file is not worth its write lock.
	DefaultVacuumMinFree = 1 << 20
	// DefaultBusyTimeout bounds each wait for a lock: SQLite's writer
	// connection and its busy_timeout during maintenance, MariaDB's
	// lock_wait_timeout (metadata locks of ANALYZE and OPTIMIZE),
	// PostgreSQL's lock_timeout.
	DefaultBusyTimeout = 5 * time.Second
	// DefaultDeadRatio and DefaultDeadMin: a PostgreSQL table is vacuumed
	// when its dead rows are a tenth of its rows and at least 1,000.
	// Autovacuum's default waits for 50 + a fifth of the rows, so on a
	// large table a fifth of it may be dead space before it acts; a daily
	// pass at half that keeps tables from bloating between autovacuums,
	// and the floor spares small tables a pass that reclaims nothing.
	DefaultDeadRatio = 0.10
	DefaultDeadMin   = 1000
	// DefaultFragmentRatio and DefaultFragmentMin: a MariaDB/MySQL table
	// is optimized (rebuilt, online for InnoDB) when its free space
	// (data_free) is a quarter of the table and at least 64 MiB. InnoDB
	// keeps several free extents in every tablespace (a fresh table
	// shows 4 to 7 MiB free), so smaller figures are its normal
	// working space, not fragmentation; a rebuild copies the whole table,
	// and is worth that only when it gives back real space.
	DefaultFragmentRatio = 0.25
	DefaultFragmentMin   = 64 << 20
)

// Options tune Run. The zero Options maintains with the defaults above.
type Options struct {
	// ReportOnly measures and reports, changing nothing: no VACUUM,
	// ANALYZE, OPTIMIZE or checkpoint. SQLite's quick_check still runs.
	ReportOnly bool

	// VacuumFreeRatio is the share of free pages from which a SQLite file
	// is vacuumed; zero means DefaultVacuumFreeRatio, above 1 never.
	VacuumFreeRatio float64
	// VacuumMinFree is the least free space, in bytes, worth a VACUUM;
	// zero means DefaultVacuumMinFree.
	VacuumMinFree int64

	// BusyTimeout bounds each wait for a lock (see DefaultBusyTimeout);
	// zero means DefaultBusyTimeout.
	BusyTimeout time.Duration

	// DeadRatio and DeadMin: a PostgreSQL table is vacuumed when its dead
	// rows are at least DeadRatio of its rows and at least DeadMin. Zero
	// means DefaultDeadRatio, DefaultDeadMin.
	DeadRatio float64
	DeadMin   int64

	// FragmentRatio and FragmentMin: a MariaDB/MySQL table is optimized
	// when its free space is at least FragmentRatio of the table and at
	// least FragmentMin bytes. Zero means DefaultFragmentRatio,
	// DefaultFragmentMin; a ratio above 1 never optimizes.
	FragmentRatio float64
	FragmentMin   int64

	// Statements are the hot statements whose plans the SQLite
	// unused-index report checks (kura's store.Statements, jobs.Statements
	// and an application's own). Nil means none: every table is then
	// reported as read by no statement (Indexes.Uncovered), its indexes not
	// judged. Other engines count real index use and ignore them.
	Statements []sqldb.Statement

	// Budget, if set, adds the connection budget of that deployment to the
	// report (see ConnectionBudget).
	Budget *BudgetInput

	// Progress, if set, is called before each step with the steps done so
	// far, the total and the step about to run, and once at the end with
	// done == total.
	Progress func(done, total int, step string)
}

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.VacuumFreeRatio == 0 {
		o.VacuumFreeRatio = DefaultVacuumFreeRatio
	}
	if o.VacuumMinFree == 0 {
		o.VacuumMinFree = DefaultVacuumMinFree
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = DefaultBusyTimeout
	}
	if o.DeadRatio == 0 {
		o.DeadRatio = DefaultDeadRatio
	}
	if o.DeadMin == 0 {
		o.DeadMin = DefaultDeadMin
	}
	if o.FragmentRatio == 0 {
		o.FragmentRatio = DefaultFragmentRatio
	}
	if o.FragmentMin == 0 {
		o.FragmentMin = DefaultFragmentMin
	}
	if o.Progress == nil {
		o.Progress = func(int, int, string) {}
	}
	return o
}

// Validate reports the fields of o that Run would refuse, naming each.
func (o Options) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"VacuumFreeRatio", o.VacuumFreeRatio}, {"DeadRatio", o.DeadRatio}, {"FragmentRatio", o.FragmentRatio}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("maintain: Options.%s must be 0 (the default) or more, not %v", f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"VacuumMinFree", o.VacuumMinFree}, {"DeadMin", o.DeadMin}, {"FragmentMin", o.FragmentMin}, {"BusyTimeout", int64(o.BusyTimeout)}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("maintain: Options.%s must be 0 (the default) or more, not %d", f.name, f.v))
		}
	}
	if o.Budget != nil {
		if err := o.Budget.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run maintains the database db with what is safe while it serves, for
// its engine (see the package documentation), on every table of its
// schema, kura's and an application's alike; then reports the indexes no
// one uses and, with opts.Budget, the connection budget. The report tells
// what each step did. A step that fails (SQLite's quick_check finding
// damage, a statement refused) is in the report as failed, the steps after
// it still run where they can, and Run returns an error naming it.
func Run(ctx context.Context, db *sqldb.DB, opts Options) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.WithDefaults()
	r := &Report{Engine: string(db.Dialect()), Started: time.Now().UTC(), ReportOnly: opts.ReportOnly}
	var err error
	switch db.Dialect() {
	case sqldb.SQLite:
		err = runSQLite(ctx, db, opts, r)
	case sqldb.Postgres:
		err = runPostgres(ctx, db, opts, r)
	case sqldb.MySQL:
		err = runMySQL(ctx, db, opts, r)
	default:
		err = fmt.Errorf("maintain: unknown engine %q", db.Dialect())
	}
	if ctx.Err() == nil {
		var uerr, berr error
		r.Unused, uerr = UnusedIndexes(ctx, db, opts.Statements)
		if opts.Budget != nil {
			r.Budget, berr = ConnectionBudget(ctx, db, *opts.Budget)
		}
		err = errors.Join(err, r.failure(), uerr, berr)
	}
	r.Took = Seconds(time.Since(r.Started))
	opts.Progress(1, 1, "done")
	return r, err
}

// steps runs the planned steps in order, reporting progress, and adds
// each outcome to the report. A step that returns an error is recorded as
// failed; later steps still run, unless ctx is done.
type plan struct {
	opts  Options
	r     *Report
	steps []planned
}

type planned struct {
	name, target string
	run          func(ctx context.Context) (status, detail string, err error)
}

func (p *plan) add(name, target string, run func(ctx context.Context) (string, string, error)) {
	p.steps = append(p.steps, planned{name, target, run})
}

func (p *plan) run(ctx context.Context) error {
	for i, s := range p.steps {
		label := s.name
		if s.target != "" {
			label += " " + s.target
		}
		p.opts.Progress(i, len(p.steps)+1, label)
		start := time.Now()
		status, detail, err := s.run(ctx)
		if err != nil {
			status, detail = StatusFailed, err.Error()
		}
		p.r.Steps = append(p.r.Steps, Step{Name: s.name, Target: s.target, Status: status, Detail: detail, Took: Seconds(time.Since(start))})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// byKey indexes ts by key.
func byKey[T any](ts []T, key func(T) string) map[string]T {
	m := make(map[string]T, len(ts))
	for _, t := range ts {
		m[key(t)] = t
	}
	return m
}
