package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/mail"
)

// Mailer is what AddMail reads of a mailer: this process's counts of
// deliveries (*mail.Mailer has it).
type Mailer interface {
	Stats() mail.Stats
}

var _ Mailer = (*mail.Mailer)(nil)

// AddMail exports the mailer's counts, read at scrape time:
// kura_mail_sent_total, kura_mail_retried_total and kura_mail_failed_total
// (messages refused for good or out of attempts). It panics if called
// twice.
func (m *Metrics) AddMail(ml Mailer) {
	counter := func(name, help string, v func(mail.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(ml.Stats())) })
	}
	m.mustRegister(counter("kura_mail_sent_total", "Messages this process delivered to the mail server.",
		func(s mail.Stats) int64 { return s.Sent }))
	m.mustRegister(counter("kura_mail_retried_total", "Delivery attempts of this process that failed and will be retried.",
		func(s mail.Stats) int64 { return s.Retried }))
	m.mustRegister(counter("kura_mail_failed_total", "Messages that failed for good in this process: refused by the server (5xx) or out of attempts.",
		func(s mail.Stats) int64 { return s.Failed }))
}
