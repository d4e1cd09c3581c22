package jobs

import (
	"github.com/kura-dev/kura/sqldb"
)

// WorkerConns returns how many connections a client with workers opens
// beside the DB's own pool: on PostgreSQL the pgx pool of River's workers
// (one of them listens for new jobs), elsewhere none, as the workers use
// the DB's pool. A connection budget counts them per process.
func WorkerConns(d sqldb.Dialect) int {
	if d == sqldb.Postgres {
		return riverPoolSize
	}
	return 0
}

// Statements returns the statements of the queue this package keeps
// itself, on MySQL, for a report of the indexes no plan uses (see
// sqldb.Statement). On PostgreSQL and SQLite the queue is River's: its
// tables and their indexes are River's, read by River's own queries,
// which no list here could keep up with, so it returns none and such a
// report leaves River's tables unjudged.
func Statements(d sqldb.Dialect) []sqldb.Statement {
	if d != sqldb.MySQL {
		return nil
	}
	return []sqldb.Statement{
		{Name: "jobs.fetch", Query: mysqlFetch},
		{Name: "jobs.complete", Query: mysqlComplete},
		{Name: "jobs.rescue", Query: mysqlRescue},
		{Name: "jobs.prune", Query: mysqlPrune},
		{Name: "jobs.counts", Query: countQuery("kura_jobs")},
		{Name: "jobs.oldest", Query: mysqlOldest},
	}
}

// countQuery counts the jobs of table in each state.
func countQuery(table string) string {
	return "SELECT state, COUNT(*) FROM " + table + " GROUP BY state"
}
