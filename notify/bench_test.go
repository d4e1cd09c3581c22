package notify_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
)

// seq numbers the benchmark's users.
var seq atomic.Int64

// BenchmarkRegister measures what registering costs with the welcome
// notification enqueued in the user's transaction, against the baseline of
// registering without it, in the same run on each engine. The workers are
// not started: this is the request's cost, not the delivery's. The
// password hash (argon2id, by design tens of milliseconds) is part of
// registering and dominates both.
//
//	go test -run '^$' -bench BenchmarkRegister -benchtime 200x ./notify/
func BenchmarkRegister(b *testing.B) {
	for _, d := range dbtest.Engines {
		db := dbtest.Open(b, d)
		c, err := jobs.New(db, jobs.Config{})
		if err != nil {
			b.Fatal(err)
		}
		for _, withJob := range []bool{false, true} {
			name := "without-enqueue"
			if withJob {
				name = "with-enqueue"
			}
			b.Run(string(d)+"/"+name, func(b *testing.B) {
				users := accounts.NewUserService(db)
				if withJob {
					users.OnCreate = func(ctx context.Context, tx *sqldb.Tx, u *kura.User) error {
						return notify.EnqueueTx(ctx, c, tx, notify.Welcome(u))
					}
				}
				ctx := context.Background()
				b.ResetTimer()
				for range b.N {
					n := fmt.Sprintf("user%d", seq.Add(1))
					if _, err := users.CreateUser(ctx, kura.NewUser{Email: n + "@example.com", Username: n, Password: "password-1"}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
