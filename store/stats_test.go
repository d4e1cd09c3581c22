package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestStatsService_Stats(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := &clock{t: time.Now().UTC()} // users get the database's clock: now
		db.Now = clk.Now
		u := MustCreateUser(t, db, "old@example.com", "old") // created by the database clock: now
		sessions := store.NewSessions(db, time.Hour)
		for range 2 {
			if _, err := sessions.StartSession(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		st, err := store.NewStatsService(db).Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Users != 1 || st.NewUsers24h != 1 || st.NewUsers7d != 1 || st.ActiveSessions != 2 {
			t.Fatalf("stats now = %+v", st)
		}
		clk.Add(2 * time.Hour) // the sessions expire; the user is 2 hours old
		if st, err = store.NewStatsService(db).Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if st.Users != 1 || st.NewUsers24h != 1 || st.ActiveSessions != 0 {
			t.Fatalf("stats 2h later = %+v", st)
		}
		clk.Add(3 * 24 * time.Hour)
		if st, err = store.NewStatsService(db).Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if st.Users != 1 || st.NewUsers24h != 0 || st.NewUsers7d != 1 {
			t.Fatalf("stats 3 days later = %+v", st)
		}
		clk.Add(7 * 24 * time.Hour)
		if st, err = store.NewStatsService(db).Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if st.Users != 1 || st.NewUsers7d != 0 {
			t.Fatalf("stats 10 days later = %+v", st)
		}
	})
}
