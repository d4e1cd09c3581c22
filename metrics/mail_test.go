package metrics_test

import (
	"testing"

	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/metrics"
)

type mailStats mail.Stats

func (s *mailStats) Stats() mail.Stats { return mail.Stats(*s) }

// TestMetrics_Mail: the mailer's counts are read at each scrape.
func TestMetrics_Mail(t *testing.T) {
	m, err := metrics.New(metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st := &mailStats{}
	m.AddMail(st)
	*st = mailStats{Sent: 3, Retried: 2, Failed: 1}
	body, _ := scrape(t, m.Handler(), "")
	f := families(t, body)
	for name, want := range map[string]float64{"kura_mail_sent_total": 3, "kura_mail_retried_total": 2, "kura_mail_failed_total": 1} {
		if got := value(t, f, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
