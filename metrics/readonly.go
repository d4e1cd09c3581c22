package metrics

import "github.com/prometheus/client_golang/prometheus"

// AddReadOnly exports kura_read_only: 1 while on says that this process
// is in read-only mode (it refuses writes and works no jobs), 0 otherwise,
// read at scrape time. It panics if called twice.
func (m *Metrics) AddReadOnly(on func() bool) {
	m.mustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kura_read_only",
		Help: "1 while this process is in read-only mode (writes answer 503 read_only, no jobs are worked), 0 otherwise.",
	}, func() float64 {
		if on() {
			return 1
		}
		return 0
	}))
}
