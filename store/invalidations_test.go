package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestCacheInvalidations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := newClock(db)
		inv := store.NewCacheInvalidations(db)
		start := clk.Now()
		if err := inv.RecordCacheInvalidations(ctx, "kura:user:", []string{"1", "2"}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
		many := make([]string, 250) // more than one INSERT's worth
		for i := range many {
			many[i] = "Digest/" + strconv.Itoa(i) + "+Ab" // case and punctuation kept
		}
		if err := inv.RecordCacheInvalidations(ctx, "kura:session:", many); err != nil {
			t.Fatal(err)
		}
		if err := inv.RecordCacheInvalidations(ctx, "kura:session:", nil); err != nil {
			t.Fatal(err)
		}

		all := mustSince(t, inv, start)
		if len(all) != 252 || all[0].Cache != "kura:user:" || all[0].Key != "1" || !all[0].At.Equal(start) {
			t.Fatalf("since the start: %d rows, first %+v", len(all), all[0])
		}
		if last := all[251]; last.Cache != "kura:session:" || last.Key != many[249] || !last.At.Equal(start.Add(time.Second)) || last.ID <= all[0].ID {
			t.Fatalf("last row = %+v", last)
		}
		if got := mustSince(t, inv, start.Add(time.Millisecond)); len(got) != 250 {
			t.Fatalf("since after the first write: %d rows, want 250", len(got))
		}

		if err := inv.PruneCacheInvalidations(ctx, start.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := mustSince(t, inv, start); len(got) != 250 || got[0].Cache != "kura:session:" {
			t.Fatalf("after pruning the first write: %d rows", len(got))
		}
	})
}

func mustSince(tb testing.TB, inv *store.CacheInvalidations, since time.Time) []kura.CacheInvalidation {
	tb.Helper()
	got, err := inv.CacheInvalidationsSince(context.Background(), since)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}
