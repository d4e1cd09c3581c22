package store_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
)

// BenchmarkFindUserByID measures the service's read of one user against the
// same query run straight on the pool, in the same run: the difference is
// the service's own cost (the bounded connection acquire, scanning into a
// kura.User, error wrapping).
//
//	go test -run '^$' -bench FindUserByID -benchmem ./store/
func BenchmarkFindUserByID(b *testing.B) {
	const users = 5000
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := MustOpenDB(b, d)
			ctx := context.Background()
			svc := accounts.NewUserService(db)
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

// BenchmarkHotPath measures the two reads of the hot path as kura serve
// runs them, through accounts' services over the store: the anonymous
// GET /api/users/{id} (FindPublicUser) and bearer authentication
// (Authenticate).
//
//	go test -run '^$' -bench HotPath -benchmem ./store/
func BenchmarkHotPath(b *testing.B) {
	const users = 5000
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := MustOpenDB(b, d)
			ctx := context.Background()
			svc := accounts.NewUserService(db)
			if err := svc.SeedUsers(ctx, users, nil); err != nil {
				b.Fatal(err)
			}
			sessions := accounts.NewSessionService(db, time.Hour)
			u, err := svc.CreateUser(ctx, kura.NewUser{Email: "hot@example.com", Username: "hot", Password: "password-1"})
			if err != nil {
				b.Fatal(err)
			}
			s, err := sessions.Login(ctx, u.Email, "password-1")
			if err != nil {
				b.Fatal(err)
			}
			b.Run("public", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := svc.FindPublicUser(ctx, 1+rand.Int64N(users)); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
			b.Run("authenticate", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := sessions.Authenticate(ctx, s.Token); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}
