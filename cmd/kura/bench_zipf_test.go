package main

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/testenv"
)

// BenchmarkGetUserZipf reads users on PostgreSQL with Zipf-distributed ids
// (a few users are read very often, most rarely, as on a real site) through
// kura with both cache tiers on — an in-process tier holding a tenth of the
// users in front of Redis — against the bare handler, and reports the share
// of reads each tier answered.
//
//	go test -run '^$' -bench GetUserZipf -benchmem ./cmd/kura/
func BenchmarkGetUserZipf(b *testing.B) {
	const users = 10_000
	url := testenv.PostgresDatabase(b)
	db, logger := benchDB(b, url, users)
	c, err := cache.New[kura.User](cache.Config{
		TTL: time.Hour, Size: users / 10, RedisURL: testenv.RedisURL(b),
		Prefix: "kura-bench-" + testenv.RandomSuffix() + ":user:",
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	kuraHandler := httpapi.NewServer(httpapi.Config{
		Users:    cached.NewUserService(accounts.NewUserService(db), c, logger),
		Sessions: accounts.NewSessionService(db, 0), Logger: logger,
	}).Handler()

	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"kura-cached", kuraHandler}, {"bare", bareHandler(b, url)}} {
		b.Run(h.name, func(b *testing.B) {
			before := c.Stats()
			var seed sync.Mutex
			var n uint64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				seed.Lock()
				n++
				z := rand.NewZipf(rand.New(rand.NewPCG(n, 7)), 1.1, 1, users-1)
				seed.Unlock()
				for pb.Next() {
					req := httptest.NewRequest("GET", "/api/users/"+strconv.FormatUint(1+z.Uint64(), 10), nil)
					w := httptest.NewRecorder()
					h.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
			after := c.Stats()
			if reads := float64(after.LocalHits + after.LocalMisses - before.LocalHits - before.LocalMisses); reads > 0 {
				b.ReportMetric(100*float64(after.LocalHits-before.LocalHits)/reads, "%local")
				b.ReportMetric(100*float64(after.RedisHits-before.RedisHits)/reads, "%redis")
				b.ReportMetric(100*float64(after.Loads-before.Loads)/reads, "%db")
			}
		})
	}
}
