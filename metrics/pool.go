package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/sqldb"
)

// Pools is what AddPools reads: *sqldb.DB has it.
type Pools interface {
	PoolStats() []sqldb.PoolStats
}

var _ Pools = (*sqldb.DB)(nil)

// AddPools exports the connection pools of db, labelled pool="writer" and
// "reader" on SQLite and pool="main" elsewhere, read at scrape time. It
// panics if called twice.
func (m *Metrics) AddPools(db Pools) { m.mustRegister(poolCollector{db}) }

var (
	poolLabels = []string{"pool"}
	poolOpen   = prometheus.NewDesc("kura_db_pool_open_connections",
		"Connections open, in use or idle.", poolLabels, nil)
	poolInUse = prometheus.NewDesc("kura_db_pool_in_use_connections",
		"Connections in use.", poolLabels, nil)
	poolIdle = prometheus.NewDesc("kura_db_pool_idle_connections",
		"Connections open and idle.", poolLabels, nil)
	poolMax = prometheus.NewDesc("kura_db_pool_max_open_connections",
		"The most connections the pool opens (DB_POOL_SIZE + DB_MAX_OVERFLOW; 1 for SQLite's writer).", poolLabels, nil)
	poolWaits = prometheus.NewDesc("kura_db_pool_waits_total",
		"Calls that found every connection taken and waited: service calls at kura's gate, other users in database/sql.", poolLabels, nil)
	poolWaitSeconds = prometheus.NewDesc("kura_db_pool_wait_seconds_total",
		"Total time calls waited for a connection.", poolLabels, nil)
	poolTimeouts = prometheus.NewDesc("kura_db_pool_acquire_timeouts_total",
		"Service calls that got no connection within DB_POOL_TIMEOUT and were answered 503.", poolLabels, nil)
	poolClosed = prometheus.NewDesc("kura_db_pool_closed_total",
		"Connections closed by the pool: reason max_idle (beyond the idle limit), max_idle_time or max_lifetime (DB_CONN_MAX_AGE).",
		[]string{"pool", "reason"}, nil)
)

type poolCollector struct{ db Pools }

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpen, poolInUse, poolIdle, poolMax, poolWaits, poolWaitSeconds, poolTimeouts, poolClosed} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	gauge, counter := prometheus.GaugeValue, prometheus.CounterValue
	for _, s := range c.db.PoolStats() {
		ch <- prometheus.MustNewConstMetric(poolOpen, gauge, float64(s.OpenConnections), s.Name)
		ch <- prometheus.MustNewConstMetric(poolInUse, gauge, float64(s.InUse), s.Name)
		ch <- prometheus.MustNewConstMetric(poolIdle, gauge, float64(s.Idle), s.Name)
		ch <- prometheus.MustNewConstMetric(poolMax, gauge, float64(s.MaxOpenConnections), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaits, counter, float64(s.WaitCount+s.GateWaits), s.Name)
		ch <- prometheus.MustNewConstMetric(poolWaitSeconds, counter, (s.WaitDuration + s.GateWaitDuration).Seconds(), s.Name)
		ch <- prometheus.MustNewConstMetric(poolTimeouts, counter, float64(s.AcquireTimeouts), s.Name)
		ch <- prometheus.MustNewConstMetric(poolClosed, counter, float64(s.MaxIdleClosed), s.Name, "max_idle")
		ch <- prometheus.MustNewConstMetric(poolClosed, counter, float64(s.MaxIdleTimeClosed), s.Name, "max_idle_time")
		ch <- prometheus.MustNewConstMetric(poolClosed, counter, float64(s.MaxLifetimeClosed), s.Name, "max_lifetime")
	}
}
