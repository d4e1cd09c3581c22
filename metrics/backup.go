package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/backup"
)

// BackupStatus reads the backups' run log; backup.ReadStatus over the
// database is one.
type BackupStatus func(ctx context.Context) (backup.Status, error)

// AddBackups exports the last backup's time, size, duration and outcome
// and the last verify's, read from the run log at scrape time within
// Config.ScrapeTimeout, so that every instance reports the backups
// whichever instance took them. Figures of a backup that never happened
// are left out. It panics if called twice.
func (m *Metrics) AddBackups(read BackupStatus) {
	m.mustRegister(&backupCollector{read: read, timeout: m.cfg.ScrapeTimeout})
}

var (
	backupLastSuccess = prometheus.NewDesc("kura_backup_last_success_timestamp_seconds",
		"When the last successful backup ended, in Unix seconds.", nil, nil)
	backupLastSize = prometheus.NewDesc("kura_backup_last_size_bytes",
		"Size of the last successful backup's data file.", nil, nil)
	backupLastDuration = prometheus.NewDesc("kura_backup_last_duration_seconds",
		"How long the last successful backup took.", nil, nil)
	backupLastOK = prometheus.NewDesc("kura_backup_last_run_success",
		"1 when the last backup attempt succeeded, 0 when it failed.", nil, nil)
	backupLastVerified = prometheus.NewDesc("kura_backup_last_verified_timestamp_seconds",
		"When the last backup that passed its verify (a restore and compare) was verified, in Unix seconds.", nil, nil)
)

type backupCollector struct {
	read    BackupStatus
	timeout time.Duration
}

func (*backupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{backupLastSuccess, backupLastSize, backupLastDuration, backupLastOK, backupLastVerified} {
		ch <- d
	}
}

func (c *backupCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(backupLastSuccess, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	if r := st.LastSuccess; r != nil {
		gauge(backupLastSuccess, float64(r.Ended.UnixMilli())/1e3)
		gauge(backupLastSize, float64(r.Bytes))
		gauge(backupLastDuration, r.Duration)
	}
	if r := st.Last; r != nil {
		ok := 0.0
		if r.OK {
			ok = 1
		}
		gauge(backupLastOK, ok)
	}
	if r := st.LastVerified; r != nil && r.Verified != nil {
		gauge(backupLastVerified, float64(r.Verified.At.UnixMilli())/1e3)
	}
}
