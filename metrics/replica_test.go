package metrics_test

import (
	"testing"
	"time"

	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/sqldb"
)

// replicaSnapshot is a fixed metrics.Replicas: the families are read from
// what the DB reports, so a snapshot is enough to check their shape (the
// figures of a real replica are checked by cmd/kura's TestReplicaReads).
type replicaSnapshot struct {
	stats   []sqldb.ReplicaStats
	primary int64
}

func (r replicaSnapshot) ReplicaStats() []sqldb.ReplicaStats { return r.stats }
func (r replicaSnapshot) PrimaryStaleReads() int64           { return r.primary }

func TestMetrics_Replicas(t *testing.T) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m.AddReplicas(replicaSnapshot{primary: 7, stats: []sqldb.ReplicaStats{
		{Name: "r1:5432/kura", InUse: true, Lag: 1500 * time.Millisecond, Reads: 40},
		{Name: "r2:5432/kura", Skipped: "down", Lag: 9 * time.Second},
	}})
	body, _ := scrape(t, m.Handler(), "")
	f := families(t, body)
	for _, c := range []struct {
		name  string
		label string
		want  float64
	}{
		{"kura_db_replica_lag_seconds", "replica=r1:5432/kura", 1.5},
		{"kura_db_replica_in_use", "replica=r1:5432/kura", 1},
		{"kura_db_replica_in_use", "replica=r2:5432/kura", 0},
		{"kura_db_stale_ok_reads_total", "target=r1:5432/kura", 40},
		{"kura_db_stale_ok_reads_total", "target=primary", 7},
	} {
		if got := value(t, f, c.name, c.label); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.label, got, c.want)
		}
	}
}
