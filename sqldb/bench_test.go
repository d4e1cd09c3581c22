package sqldb_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

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
			if err := accounts.NewUserService(db).SeedUsers(ctx, users, nil); err != nil {
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
