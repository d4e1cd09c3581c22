package store_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// BenchmarkFindUserByID measures the service's read of one user against the
// same query run straight on the pool, in the same run: the difference is
// the service's own cost (the bounded connection acquire, scanning into a
// kura.User, error wrapping).
//
//	go test -run '^$' -bench FindUserByID -benchmem ./sqldb/
func BenchmarkFindUserByID(b *testing.B) {
	const users = 5000
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := MustOpenDB(b, d)
			ctx := context.Background()
			svc := sqldb.NewUserService(db)
			if err := svc.SeedUsers(ctx, users, nil); err != nil {
				b.Fatal(err)
			}
			q := "SELECT id, email, username, role, created_at, updated_at FROM users WHERE id = ?"
			if d == sqldb.Postgres {
				q = "SELECT id, email, username, role, created_at, updated_at FROM users WHERE id = $1"
			}
			b.Run("service", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := svc.FindUserByID(ctx, 1+rand.Int64N(users)); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("raw", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					var id int64
					var email, username, role string
					var created, updated time.Time
					for pb.Next() {
						err := db.Reader().QueryRowContext(ctx, q, 1+rand.Int64N(users)).Scan(&id, &email, &username, &role, &created, &updated)
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}

// BenchmarkQuerier measures an application's query through Read's
// Querier, written with ? and a raw time.Time ("querier"), against the
// idiom before that Querier rebound itself: Rebind and TimeArg by hand
// ("by-hand", which the Querier now looks up once more in its cache).
// docs/BENCHMARKS.md compares "querier" with "by-hand" run on the code
// before the change.
//
//	go test -run '^$' -bench Querier -benchmem ./sqldb/
func BenchmarkQuerier(b *testing.B) {
	const users = 1000
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := MustOpenDB(b, d)
			ctx := context.Background()
			if err := sqldb.NewUserService(db).SeedUsers(ctx, users, nil); err != nil {
				b.Fatal(err)
			}
			const q = "SELECT id, username FROM users WHERE id = ? AND created_at < ?"
			before := time.Now().Add(time.Hour)
			run := func(b *testing.B, query func(qr sqldb.Querier, id int64, dest ...any) error) {
				b.ReportAllocs()
				for range b.N {
					var id int64
					var name string
					err := db.Read(ctx, func(qr sqldb.Querier) error { return query(qr, 1+rand.Int64N(users), &id, &name) })
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run("querier", func(b *testing.B) {
				run(b, func(qr sqldb.Querier, id int64, dest ...any) error {
					return qr.QueryRowContext(ctx, q, id, before).Scan(dest...)
				})
			})
			b.Run("by-hand", func(b *testing.B) {
				run(b, func(qr sqldb.Querier, id int64, dest ...any) error {
					return qr.QueryRowContext(ctx, db.Rebind(q), id, db.TimeArg(before)).Scan(dest...)
				})
			})
		})
	}
}
