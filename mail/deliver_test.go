package mail_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

const from = "Kura <no-reply@kura.test>"

// openDB returns a fresh database of engine d with the mail schema.
func openDB(t *testing.T, d sqldb.Dialect) *sqldb.DB {
	db := dbtest.Open(t, d)
	if err := db.MigrateUp(context.Background(), mail.Schema); err != nil {
		t.Fatal(err)
	}
	return db
}

// smtpTransport returns the SMTP transport of url, trusting roots.
func smtpTransport(t *testing.T, url string, srv *testenv.SMTPServer) *mail.SMTP {
	cfg := mail.SMTPConfig{URL: url, Timeout: 5 * time.Second}
	if roots := srv.RootCAs(); roots != nil {
		cfg.TLS = &tls.Config{RootCAs: roots}
	}
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance is one process's mailer and its started job client.
type instance struct {
	m  *mail.Mailer
	jc *jobs.Client
}

// start makes a mailer and a started job client that retries at once.
func start(t *testing.T, db *sqldb.DB, tr mail.Transport, maxAttempts int) *instance {
	logger := dbtest.Logger(t, slog.LevelError)
	m, err := mail.New(db, mail.Config{From: from, Transport: tr, MaxAttempts: maxAttempts, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ws := jobs.NewWorkers()
	m.Workers(ws)
	jc, err := jobs.New(db, jobs.Config{
		Workers: ws, PruneInterval: -1, PollInterval: 50 * time.Millisecond, Logger: logger,
		Backoff: func(int) time.Duration { return 100 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	m.SetJobs(jc)
	if err := jc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jc.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &instance{m: m, jc: jc}
}

func message(key, to string) *mail.Message {
	return &mail.Message{Key: key, To: to, Subject: "Hello " + key, Text: "Open https://kura.test/x?key=" + key + "\n", HTML: "<p>" + key + "</p>"}
}

// row reads the outbox row of key.
func row(t *testing.T, db *sqldb.DB, key string) (state string, attempts int, text, lastErr string) {
	err := db.Read(context.Background(), func(q sqldb.Querier) error {
		return q.QueryRowContext(context.Background(), "SELECT state, attempts, text_body, last_error FROM kura_mail WHERE idempotency_key = ?", key).
			Scan(&state, &attempts, &text, &lastErr)
	})
	if err != nil {
		t.Fatalf("row %s: %v", key, err)
	}
	return
}

func TestMailer_DeliversInTheTransactionsOutcome(t *testing.T) {
	dbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		srv := testenv.SMTP(t, testenv.SMTPOptions{})
		if err := db.MigrateUp(ctx, mail.Schema); err != nil {
			t.Fatal(err)
		}
		in := start(t, db, smtpTransport(t, srv.URL(""), srv), 0)

		// A rolled-back transaction sends nothing; a committed one sends
		// once, however often its key is sent.
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if _, err := in.m.SendTx(ctx, tx, message("rolled-back", "ann@example.com")); err != nil {
				return err
			}
			return fmt.Errorf("roll back")
		})
		if err == nil {
			t.Fatal("the transaction committed")
		}
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			queued, err := in.m.SendTx(ctx, tx, message("welcome:1", "Ann <ann@example.com>"))
			if err == nil && !queued {
				err = fmt.Errorf("not queued")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if queued, err := in.m.Send(ctx, message("welcome:1", "ann@example.com")); err != nil || queued {
			t.Fatalf("a second send of one key: queued %v, %v", queued, err)
		}
		got := srv.WaitMessages(1)[0]
		if got.Subject != "Hello welcome:1" || !strings.Contains(got.Text, "https://kura.test/x?key=welcome:1") ||
			got.HTML != "<p>welcome:1</p>" || !strings.Contains(got.To, "ann@example.com") ||
			got.Header.Get("Message-Id") != "<"+message("welcome:1", "").ID(from)+">" {
			t.Errorf("delivered: subject %q to %q id %q\ntext %q\nhtml %q", got.Subject, got.To, got.Header.Get("Message-Id"), got.Text, got.HTML)
		}
		testenv.Wait(t, 0, "the row marked sent", func() bool { s, _, _, _ := row(t, db, "welcome:1"); return s == "sent" })
		if _, attempts, text, _ := row(t, db, "welcome:1"); attempts != 1 || text != "" {
			t.Errorf("sent row: %d attempts, body %q kept", attempts, text)
		}
		if st := in.m.Stats(); st.Sent != 1 || st.Failed != 0 {
			t.Errorf("stats %+v", st)
		}
		if h := in.m.Health(ctx); h != mail.HealthOK {
			t.Errorf("health %q", h)
		}
		if n := len(srv.Messages()); n != 1 {
			t.Errorf("%d messages delivered, want 1", n)
		}
	})
}

func TestMailer_RejectsInvalidMessages(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	in := start(t, db, mail.Log{Logger: slog.New(slog.DiscardHandler)}, 0)
	bad := message("k", "not an address")
	if _, err := in.m.Send(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "email address") {
		t.Fatalf("bad recipient: %v", err)
	}
	if _, err := mail.New(db, mail.Config{From: "nobody", Transport: mail.Log{}}); err == nil {
		t.Error("a bad From was accepted")
	}
}
