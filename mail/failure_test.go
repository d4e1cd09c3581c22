package mail_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
)

// TestMailer_TLS delivers with STARTTLS required and with TLS from the
// start, to a server whose certificate the test made; a client that does
// not trust it sends nothing and keeps retrying.
func TestMailer_TLS(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	srv := testenv.SMTP(t, testenv.SMTPOptions{TLS: true})
	ctx := context.Background()

	starttls := start(t, db, smtpTransport(t, srv.URL("starttls"), srv), 0)
	if _, err := starttls.m.Send(ctx, message("starttls", "ann@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(1)
	if !strings.Contains(srv.Log(), "TLS connection established") {
		t.Errorf("the server logged no TLS connection:\n%s", srv.Log())
	}

	db = openDB(t, sqldb.SQLite)
	implicit := start(t, db, smtpTransport(t, srv.TLSURL(), srv), 0)
	if _, err := implicit.m.Send(ctx, message("smtps", "bob@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.WaitMessages(2)

	untrusted, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL("starttls"), Timeout: 5 * time.Second, TLS: &tls.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	db = openDB(t, sqldb.SQLite)
	u := start(t, db, untrusted, 1000) // retried every 100 ms, never sent
	if _, err := u.m.Send(ctx, message("untrusted", "cy@example.com")); err != nil {
		t.Fatal(err)
	}
	var lastErr string
	if err := testenv.WaitErr(0, func() bool {
		_, attempts, _, e := row(t, db, "untrusted")
		lastErr = e
		return attempts >= 1 && strings.Contains(e, "certificate")
	}); err != nil {
		t.Fatalf("waiting for an attempt refused by the certificate check: %v; the last error: %q", err, lastErr)
	}
	if state, _, _, _ := row(t, db, "untrusted"); state != "queued" {
		t.Errorf("the untrusted server's message is %s, want queued", state)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}
}

// TestMailer_RefusedThenFailed: a server that answers 450 is retried until
// the attempts run out; the message is then failed, counted, reported by
// Health and listed as a discarded job. A 554 fails at the first attempt.
func TestMailer_RefusedThenFailed(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := db.MigrateUp(ctx, mail.Schema); err != nil {
			t.Fatal(err)
		}
		srv := testenv.SMTP(t, testenv.SMTPOptions{Refuse: "temporary"})
		in := start(t, db, smtpTransport(t, srv.URL(""), srv), 3)
		if _, err := in.m.Send(ctx, message("refused", "ann@example.com")); err != nil {
			t.Fatal(err)
		}
		testenv.Wait(t, 0, "the message failed", func() bool { s, _, _, _ := row(t, db, "refused"); return s == "failed" })
		_, attempts, text, lastErr := row(t, db, "refused")
		if attempts != 3 || text != "" || !strings.Contains(lastErr, "450") {
			t.Errorf("failed row: %d attempts, body %q, error %q", attempts, text, lastErr)
		}
		var discarded []*jobs.Row
		testenv.Wait(t, 0, "the job discarded", func() bool {
			var err error
			discarded, err = in.jc.List(ctx, jobs.ListOptions{States: []jobs.State{jobs.StateDiscarded}, Kinds: []string{mail.DeliverKind}})
			return err == nil && len(discarded) == 1
		})
		if len(discarded[0].Errors) != 3 || !strings.Contains(discarded[0].LastError(), "450") {
			t.Errorf("discarded job's errors: %+v", discarded[0].Errors)
		}
		if st := in.m.Stats(); st.Failed != 1 || st.Retried != 2 || st.Sent != 0 {
			t.Errorf("stats %+v", st)
		}
		if h := in.m.Health(ctx); h != mail.HealthFailing {
			t.Errorf("health %q, want failing", h)
		}

		srv.SetRefuse("permanent")
		if _, err := in.m.Send(ctx, message("rejected", "bob@example.com")); err != nil {
			t.Fatal(err)
		}
		testenv.Wait(t, 0, "the rejected message failed", func() bool { s, _, _, _ := row(t, db, "rejected"); return s == "failed" })
		if _, attempts, _, lastErr := row(t, db, "rejected"); attempts != 1 || !strings.Contains(lastErr, "554") {
			t.Errorf("rejected row: %d attempts, error %q", attempts, lastErr)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("%d messages delivered by a refusing server", n)
		}
	})
}

// TestMailer_ServerDownAtEnqueue: a message enqueued while the server is
// down is retried and delivered once it is up.
func TestMailer_ServerDownAtEnqueue(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := db.MigrateUp(ctx, mail.Schema); err != nil {
			t.Fatal(err)
		}
		srv := testenv.SMTP(t, testenv.SMTPOptions{Down: true})
		in := start(t, db, smtpTransport(t, srv.URL(""), srv), 1000) // attempts every 100 ms
		if _, err := in.m.Send(ctx, message("while-down", "ann@example.com")); err != nil {
			t.Fatal(err)
		}
		testenv.Wait(t, 0, "a failed attempt", func() bool { _, a, _, e := row(t, db, "while-down"); return a >= 1 && e != "" })
		srv.Start()
		got := srv.WaitMessages(1)
		if got[0].Subject != "Hello while-down" {
			t.Errorf("subject %q", got[0].Subject)
		}
		testenv.Wait(t, 0, "the row sent", func() bool { s, _, _, _ := row(t, db, "while-down"); return s == "sent" })
	})
}

// TestMailer_TwoInstances: two processes' mailers on one database, each
// asked to send every event, deliver each message once.
func TestMailer_TwoInstances(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if err := db.MigrateUp(ctx, mail.Schema); err != nil {
			t.Fatal(err)
		}
		srv := testenv.SMTP(t, testenv.SMTPOptions{})
		a := start(t, db, smtpTransport(t, srv.URL(""), srv), 0)
		b := start(t, db, smtpTransport(t, srv.URL(""), srv), 0)
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for _, in := range []*instance{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					if _, err := in.m.Send(ctx, message(fmt.Sprintf("event:%d", i), fmt.Sprintf("u%d@example.com", i))); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := srv.WaitMessages(n)
		testenv.Wait(t, 0, "every row sent", func() bool {
			var left int
			db.Read(ctx, func(q sqldb.Querier) error {
				return q.QueryRowContext(ctx, "SELECT COUNT(*) FROM kura_mail WHERE state <> 'sent'").Scan(&left)
			})
			return left == 0
		})
		ids := map[string]bool{}
		for _, m := range srv.Messages() {
			ids[m.Header.Get("Message-Id")] = true
		}
		if len(got) != n || len(srv.Messages()) != n || len(ids) != n {
			t.Errorf("%d messages, %d distinct ids; want %d each", len(srv.Messages()), len(ids), n)
		}
		if sa, sb := a.m.Stats(), b.m.Stats(); sa.Sent+sb.Sent != n {
			t.Errorf("sent %d + %d, want %d", sa.Sent, sb.Sent, n)
		}
	})
}
