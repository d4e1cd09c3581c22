package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/sqldb"
)

// Replicas is what AddReplicas reads: *sqldb.DB has it.
type Replicas interface {
	ReplicaStats() []sqldb.ReplicaStats
	PrimaryStaleReads() int64
}

var _ Replicas = (*sqldb.DB)(nil)

// AddReplicas exports the read replicas of db (sqldb.Config.ReplicaURLs),
// labelled replica="host:port/database", read at scrape time: their lag,
// whether each serves reads, and where the reads that may be stale went
// (target="primary" or the replica's name). It panics if called twice.
func (m *Metrics) AddReplicas(db Replicas) { m.mustRegister(replicaCollector{db}) }

var (
	replicaLag = prometheus.NewDesc("kura_db_replica_lag_seconds",
		"How far the read replica was behind the primary at its last check (every second).", []string{"replica"}, nil)
	replicaInUse = prometheus.NewDesc("kura_db_replica_in_use",
		"1 while the read replica serves reads; 0 while it is skipped (down, not in recovery, or lagging past KURA_REPLICA_MAX_LAG).", []string{"replica"}, nil)
	staleReads = prometheus.NewDesc("kura_db_stale_ok_reads_total",
		"Reads that may be slightly stale, by where they ran: target=\"primary\" or a replica's name.", []string{"target"}, nil)
)

type replicaCollector struct{ db Replicas }

func (replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{replicaLag, replicaInUse, staleReads} {
		ch <- d
	}
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.db.ReplicaStats() {
		inUse := 0.0
		if r.InUse {
			inUse = 1
		}
		ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, r.Lag.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(replicaInUse, prometheus.GaugeValue, inUse, r.Name)
		ch <- prometheus.MustNewConstMetric(staleReads, prometheus.CounterValue, float64(r.Reads), r.Name)
	}
	ch <- prometheus.MustNewConstMetric(staleReads, prometheus.CounterValue, float64(c.db.PrimaryStaleReads()), "primary")
}
