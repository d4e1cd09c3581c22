package main

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/bare"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/metrics"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// BenchmarkGetUser measures GET /api/users/{id} with random ids in one
// process, without the network: kura's whole handler chain (the JSON
// access log as serve writes it, to io.Discard, and the metrics hook) and
// service over a real database, against the tuned bare handler (package bare: the same
// query by hand, prepared per connection, on a pool of its own). Their
// ratio is what kura costs on top of what a careful engineer writes.
//
//	go test -run '^$' -bench GetUser -benchmem ./cmd/kura/
func BenchmarkGetUser(b *testing.B) {
	const users = 5000
	for _, e := range []struct {
		name string
		url  func(testing.TB) string
	}{
		{"sqlite", func(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "bench.db") }},
		{"postgres", testenv.PostgresDatabase},
		{"mysql", testenv.MySQLDatabase},
	} {
		b.Run(e.name, func(b *testing.B) {
			url := e.url(b)
			db, logger := benchDB(b, url, users)
			m, err := metrics.New(metrics.Config{Logger: logger})
			if err != nil {
				b.Fatal(err)
			}
			kura := httpapi.NewServer(httpapi.Config{
				Users: accounts.NewUserService(db), Sessions: accounts.NewSessionService(db, 0), Logger: logger,
				OnRequest: m.ObserveRequest, Limiter: ratelimit.None{},
			}).Handler()
			for _, h := range []struct {
				name string
				h    http.Handler
			}{{"kura", kura}, {"bare", bareHandler(b, url)}} {
				b.Run(h.name, func(b *testing.B) {
					b.ReportAllocs()
					b.SetParallelism(8)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := httptest.NewRequest("GET", "/api/users/"+strconv.Itoa(1+rand.IntN(users)), nil)
							w := httptest.NewRecorder()
							h.h.ServeHTTP(w, req)
							if w.Code != http.StatusOK {
								b.Fatalf("status %d: %s", w.Code, w.Body)
							}
						}
					})
				})
			}
		})
	}
}

// bareHandler returns the tuned baseline (package bare: a pool of its own,
// the query prepared per connection, or pgx's own pool) over db's database.
func bareHandler(b *testing.B, url string) http.Handler {
	b.Helper()
	s, err := bare.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s.Handler()
}

// benchDB opens, migrates and seeds the database at url for a benchmark,
// closed when it ends, and returns it with a logger that discards, made
// as serve makes its JSON log.
func benchDB(b *testing.B, url string, users int) (*sqldb.DB, *slog.Logger) {
	b.Helper()
	ctx := context.Background()
	logger := (&Config{LogFormat: "json", LogLevel: slog.LevelInfo}).Logger(io.Discard)
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema); err != nil {
		b.Fatal(err)
	}
	if err := accounts.NewUserService(db).SeedUsers(ctx, users, nil); err != nil {
		b.Fatal(err)
	}
	return db, logger
}
