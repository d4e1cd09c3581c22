package jobs

import (
	"fmt"

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

// Statements returns the statements this package itself runs on the
// queue's tables of the dialect, for a report of the indexes no plan uses
// (see sqldb.Statement): on MySQL every statement of its own queue; on
// PostgreSQL and SQLite the prune, the counts and the oldest waiting job,
// beside which River runs its own.
func Statements(d sqldb.Dialect) []sqldb.Statement {
	if d == sqldb.MySQL {
		return []sqldb.Statement{
			{Name: "jobs.fetch", Query: mysqlFetch},
			{Name: "jobs.complete", Query: mysqlComplete},
			{Name: "jobs.rescue", Query: mysqlRescue},
			{Name: "jobs.prune", Query: mysqlPrune},
			{Name: "jobs.counts", Query: countQuery("kura_jobs")},
			{Name: "jobs.oldest", Query: mysqlOldest},
		}
	}
	return []sqldb.Statement{
		{Name: "jobs.prune", Query: riverPruneQuery(d)},
		{Name: "jobs.counts", Query: countQuery("river_job")},
		{Name: "jobs.oldest", Query: riverOldest},
	}
}

// countQuery counts the jobs of table in each state.
func countQuery(table string) string {
	return "SELECT state, COUNT(*) FROM " + table + " GROUP BY state"
}

// riverPruneQuery deletes at most pruneBatch of River's finished jobs:
// completed and cancelled ones finalized before the first parameter,
// discarded ones before the second.
func riverPruneQuery(d sqldb.Dialect) string {
	p1, p2 := "$1", "$2"
	if d == sqldb.SQLite {
		p1, p2 = "?1", "?2"
	}
	return `DELETE FROM river_job WHERE id IN (SELECT id FROM river_job WHERE
		(state IN ('completed', 'cancelled') AND finalized_at < ` + p1 + `) OR
		(state = 'discarded' AND finalized_at < ` + p2 + `) LIMIT ` + fmt.Sprint(pruneBatch) + `)`
}
