// Command notes serves the notes example app: kura's users API and the
// notes routes, on SQLite, PostgreSQL or MySQL/MariaDB.
//
//	DATABASE_URL=postgres://app@127.0.0.1/app go run ./examples/notes/cmd/notes
//
// It reads DATABASE_URL, NOTES_ADDR (default 127.0.0.1:8080), REDIS_URL
// NOTES_CACHE_TTL (how long a note read is cached, a Go duration,
// default 5m), and NOTES_SMTP_URL and NOTES_MAIL_FROM (the mail server
// and sender of the share notice by mail, as KURA_SMTP_URL and
// KURA_MAIL_FROM; no mail without them) from the environment, and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "notes:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	ttl := 5 * time.Minute
	if v := os.Getenv("NOTES_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("NOTES_CACHE_TTL: %q is not a positive duration such as 5m", v)
		}
		ttl = d
	}
	cfg := notes.Config{
		DB:       sqldb.Config{URL: os.Getenv("DATABASE_URL")},
		Addr:     os.Getenv("NOTES_ADDR"),
		RedisURL: os.Getenv("REDIS_URL"),
		CacheTTL: ttl,
		MailFrom: os.Getenv("NOTES_MAIL_FROM"),
		Logger:   slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	if u := os.Getenv("NOTES_SMTP_URL"); u != "" {
		smtp, err := mail.NewSMTP(mail.SMTPConfig{URL: u}) // TLS required off loopback; the URL is never printed
		if err != nil {
			return fmt.Errorf("NOTES_SMTP_URL: %w", err)
		}
		cfg.Mail = smtp
	}
	return notes.Run(ctx, cfg)
}
