package maintain

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/kura-dev/kura/sqldb"
)

// The verdicts of a connection budget.
const (
	BudgetOK    = "ok"    // at most TightShare of what the server allows
	BudgetTight = "tight" // fits, with less than a fifth to spare
	BudgetOver  = "over"  // more than the server allows: connections will be refused under load
	// TightShare is the share of the server's connections above which a
	// budget is tight: the rest is what an operator's psql, a backup and
	// a deploy's overlapping instances need.
	TightShare = 0.8
)

// BudgetInput describes a deployment: how many processes share the
// server and what each may open.
type BudgetInput struct {
	// Instances is the number of processes (serve and worker) that share
	// the server. At least 1.
	Instances int
	// PoolSize and MaxOverflow are each process's pool (DB_POOL_SIZE,
	// DB_MAX_OVERFLOW): at most their sum open.
	PoolSize, MaxOverflow int
	// WorkerConns are each process's connections beside its pool: the
	// job workers' own (jobs.WorkerConns), 0 for a process that works no
	// jobs.
	WorkerConns int
	// MigratorConns are each process's connections to migrate and
	// maintain as the migration role, at start and in the maintenance
	// job. Zero means 2 on PostgreSQL (one holds the migrations' advisory
	// lock while another applies them) and 1 on MySQL.
	MigratorConns int
}

func (in BudgetInput) validate() error {
	var errs []error
	if in.Instances < 1 {
		errs = append(errs, fmt.Errorf("maintain: BudgetInput.Instances must be 1 or more, not %d", in.Instances))
	}
	if in.PoolSize < 1 || in.MaxOverflow < 0 || in.WorkerConns < 0 || in.MigratorConns < 0 {
		errs = append(errs, errors.New("maintain: BudgetInput's PoolSize must be 1 or more, and MaxOverflow, WorkerConns and MigratorConns 0 or more"))
	}
	return errors.Join(errs...)
}

// Budget is the connection budget of a deployment against its server.
type Budget struct {
	// Applicable is false on SQLite, Reason says why.
	Applicable bool   `json:"applicable"`
	Reason     string `json:"reason,omitempty"`

	Instances     int `json:"instances"`
	PoolConns     int `json:"pool_connections"`     // per instance: DB_POOL_SIZE + DB_MAX_OVERFLOW
	WorkerConns   int `json:"worker_connections"`   // per instance
	MigratorConns int `json:"migrator_connections"` // per instance
	PerInstance   int `json:"per_instance"`
	Total         int `json:"total"` // Instances × PerInstance

	MaxConnections int `json:"max_connections"`
	Reserved       int `json:"reserved"` // kept for superusers (PostgreSQL), out of max_connections
	Available      int `json:"available"`
	InUse          int `json:"in_use"` // connections open on the server now, everyone's

	Verdict string `json:"verdict"` // ok, tight or over
	Advice  string `json:"advice"`
}

// ConnectionBudget compares the most connections the deployment in may
// open, Instances × (PoolSize + MaxOverflow + WorkerConns +
// MigratorConns), with what the server allows ordinary roles: on
// PostgreSQL max_connections less superuser_reserved_connections (and
// reserved_connections, from PostgreSQL 16); on MariaDB/MySQL
// max_connections (the server keeps one more for a user with SUPER or
// CONNECTION ADMIN, which kura's roles are not). SQLite has no server and
// no connection limit: the budget is not applicable.
func ConnectionBudget(ctx context.Context, db *sqldb.DB, in BudgetInput) (*Budget, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if db.Dialect() == sqldb.SQLite {
		return &Budget{Reason: "SQLite is a file opened by one process: one writer connection and a few readers, no server whose connections could run out. To run several instances, move to PostgreSQL"}, nil
	}
	b := &Budget{Applicable: true, Instances: in.Instances, PoolConns: in.PoolSize + in.MaxOverflow, WorkerConns: in.WorkerConns, MigratorConns: in.MigratorConns}
	if b.MigratorConns == 0 {
		b.MigratorConns = 1
		if db.Dialect() == sqldb.Postgres {
			b.MigratorConns = 2
		}
	}
	b.PerInstance = b.PoolConns + b.WorkerConns + b.MigratorConns
	b.Total = b.Instances * b.PerInstance
	var err error
	if db.Dialect() == sqldb.Postgres {
		err = pgLimits(ctx, db.Reader(), b)
	} else {
		err = myLimits(ctx, db.Reader(), b)
	}
	if err != nil {
		return nil, fmt.Errorf("maintain: connection budget: %w", err)
	}
	b.Available = b.MaxConnections - b.Reserved
	b.judge()
	return b, nil
}

// pgLimits reads max_connections, the reserved connections and the
// connections open now.
func pgLimits(ctx context.Context, q *sql.DB, b *Budget) error {
	var reserved16 sql.NullString
	err := q.QueryRowContext(ctx, `
		SELECT current_setting('max_connections')::int,
		       current_setting('superuser_reserved_connections')::int,
		       current_setting('reserved_connections', true),
		       (SELECT COUNT(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`).
		Scan(&b.MaxConnections, &b.Reserved, &reserved16, &b.InUse)
	if err != nil {
		return err
	}
	if reserved16.Valid && reserved16.String != "" {
		n, err := strconv.Atoi(reserved16.String)
		if err != nil {
			return fmt.Errorf("reserved_connections %q: %w", reserved16.String, err)
		}
		b.Reserved += n
	}
	return nil
}

// myLimits reads max_connections and the threads connected now.
func myLimits(ctx context.Context, q *sql.DB, b *Budget) error {
	var name string
	if err := q.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'max_connections'").Scan(&name, &b.MaxConnections); err != nil {
		return err
	}
	return q.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Threads_connected'").Scan(&name, &b.InUse)
}

// judge sets the verdict and the advice.
func (b *Budget) judge() {
	fits := b.Available/b.Instances - b.WorkerConns - b.MigratorConns // the most pool per instance that fits
	switch {
	case b.Total > b.Available:
		b.Verdict = BudgetOver
		b.Advice = fmt.Sprintf("%d instances may open %d connections, more than the %d the server allows: under load some will be refused. ", b.Instances, b.Total, b.Available)
		if fits >= 1 {
			b.Advice += fmt.Sprintf("Lower DB_POOL_SIZE + DB_MAX_OVERFLOW to %d or less per instance, ", fits)
		} else {
			b.Advice += "Run fewer instances, "
		}
		b.Advice += "raise max_connections on the server, or put a pooler (PgBouncer in transaction mode, ProxySQL) in front of it"
	case float64(b.Total) > TightShare*float64(b.Available):
		b.Verdict = BudgetTight
		b.Advice = fmt.Sprintf("%d of the %d connections the server allows, leaving %d for operators, backups and a deploy's overlapping instances: ", b.Total, b.Available, b.Available-b.Total) +
			fmt.Sprintf("keep DB_POOL_SIZE + DB_MAX_OVERFLOW at %d or less per instance, or raise max_connections before adding instances", int(TightShare*float64(b.Available))/b.Instances-b.WorkerConns-b.MigratorConns)
	default:
		b.Verdict = BudgetOK
		b.Advice = fmt.Sprintf("%d of the %d connections the server allows, %d to spare", b.Total, b.Available, b.Available-b.Total)
	}
}

func (b *Budget) writeText(p *printer) {
	p.f("\nconnection budget: ")
	if !b.Applicable {
		p.f("not applicable: %s\n", b.Reason)
		return
	}
	p.f("%s\n  %d instances × (%d pool + %d workers + %d migrator) = %d connections\n  server: max_connections %d − %d reserved = %d available (%d open now)\n  %s\n",
		b.Verdict, b.Instances, b.PoolConns, b.WorkerConns, b.MigratorConns, b.Total, b.MaxConnections, b.Reserved, b.Available, b.InUse, b.Advice)
}

func (ix *Indexes) writeText(p *printer) {
	p.f("\nunused indexes: ")
	if !ix.Available {
		p.f("not available: %s\n", ix.Reason)
		return
	}
	p.f("%d (%s)\n", len(ix.Unused), ix.Method)
	if ix.Since != nil {
		p.f("  since %s: %s\n", ix.Since.Format("2006-01-02 15:04:05 UTC"), ix.SinceNote)
	} else if ix.SinceNote != "" {
		p.f("  %s\n", ix.SinceNote)
	}
	for _, i := range ix.Unused {
		size := ""
		if i.Bytes > 0 {
			size = ", " + bytesText(i.Bytes)
		}
		p.f("  %s on %s (%s%s)\n", i.Name, i.Table, i.Columns, size)
	}
	for _, u := range ix.Unexplained {
		p.f("  not explained: %s\n", u)
	}
	if len(ix.Uncovered) > 0 {
		p.f("  not judged (no statement checked reads them): %v\n", ix.Uncovered)
	}
}
