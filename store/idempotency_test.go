package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

const testLease = time.Minute

func mustClaim(tb testing.TB, s *store.IdempotencyStore, scope, key string, fp []byte) *kura.IdempotencyClaim {
	tb.Helper()
	c, err := s.ClaimIdempotencyKey(context.Background(), scope, key, fp, testLease)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func fingerprint(body string) []byte {
	sum := sha256.Sum256([]byte("POST\x00/api/users\x00" + body))
	return sum[:]
}

func TestIdempotencyStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		clk := newClock(db)
		s := store.NewIdempotencyStore(db)
		fp, other := fingerprint(`{"a":1}`), fingerprint(`{"a":2}`)
		longKey := strings.Repeat("k", kura.MaxIdempotencyKey)

		first := mustClaim(t, s, "user:1", longKey, fp)
		if !first.Owned || first.Token == "" || first.Response != nil || first.Mismatch {
			t.Fatalf("first claim = %+v; want owned", first)
		}
		if c := mustClaim(t, s, "user:1", longKey, fp); c.Owned || c.Response != nil || c.Mismatch {
			t.Fatalf("a duplicate while the first runs = %+v; want in progress", c)
		}
		if c := mustClaim(t, s, "user:1", longKey, other); !c.Mismatch || c.Owned {
			t.Fatalf("another body = %+v; want a mismatch", c)
		}
		for _, scope := range []string{"user:2", "addr:127.0.0.1"} {
			if c := mustClaim(t, s, scope, longKey, other); !c.Owned {
				t.Fatalf("the same key in scope %s = %+v; want owned: scopes are apart", scope, c)
			}
		}
		if c := mustClaim(t, s, "user:1", strings.ToUpper(longKey), fp); !c.Owned {
			t.Fatalf("the key in upper case = %+v; want owned: keys compare byte for byte", c)
		}

		t.Run("Complete", func(t *testing.T) {
			want := &kura.StoredResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json", "Location": "/api/users/7"}, Body: []byte(`{"id":7}` + "\n")}
			if err := s.CompleteIdempotencyKey(ctx, first, want); err != nil {
				t.Fatal(err)
			}
			c := mustClaim(t, s, "user:1", longKey, fp)
			if c.Owned || c.Response == nil || c.Response.Status != 201 || !bytes.Equal(c.Response.Body, want.Body) ||
				c.Response.Header["Location"] != "/api/users/7" || c.Response.Header["Content-Type"] != "application/json" {
				t.Fatalf("after completion = %+v (%+v); want the stored response", c, c.Response)
			}
			if c := mustClaim(t, s, "user:1", longKey, other); !c.Mismatch {
				t.Fatalf("another body after completion = %+v; want a mismatch", c)
			}
		})

		t.Run("Release", func(t *testing.T) {
			c := mustClaim(t, s, "user:1", "release", fp)
			if err := s.ReleaseIdempotencyKey(ctx, c); err != nil {
				t.Fatal(err)
			}
			if c := mustClaim(t, s, "user:1", "release", other); !c.Owned {
				t.Fatalf("after a release = %+v; want owned, whatever the body", c)
			}
		})

		t.Run("TakeOverAfterLease", func(t *testing.T) {
			dead := mustClaim(t, s, "user:1", "lease", fp)
			clk.Add(testLease - time.Second)
			if c := mustClaim(t, s, "user:1", "lease", fp); c.Owned {
				t.Fatal("a claim within its lease was taken over")
			}
			clk.Add(2 * time.Second)
			c := mustClaim(t, s, "user:1", "lease", fp)
			if !c.Owned || c.Token == dead.Token {
				t.Fatalf("a claim past its lease = %+v; want taken over", c)
			}
			// The first owner's late answer is not stored, nor its release done.
			if err := s.CompleteIdempotencyKey(ctx, dead, &kura.StoredResponse{Status: 200}); err != nil {
				t.Fatal(err)
			}
			if err := s.ReleaseIdempotencyKey(ctx, dead); err != nil {
				t.Fatal(err)
			}
			if got := mustClaim(t, s, "user:1", "lease", fp); got.Owned || got.Response != nil {
				t.Fatalf("after the dead owner's late answer = %+v; want still in progress", got)
			}
			if err := s.CompleteIdempotencyKey(ctx, c, &kura.StoredResponse{Status: 204}); err != nil {
				t.Fatal(err)
			}
			if got := mustClaim(t, s, "user:1", "lease", fp); got.Response == nil || got.Response.Status != 204 || len(got.Response.Body) != 0 {
				t.Fatalf("after the new owner's answer = %+v; want 204", got)
			}
		})

		t.Run("Expiry", func(t *testing.T) {
			if c := mustClaim(t, s, "user:9", "young", fp); !c.Owned {
				t.Fatal("not owned")
			}
			clk.Add(kura.IdempotencyTTL + time.Second) // every key so far is past its time
			if c := mustClaim(t, s, "user:1", longKey, other); !c.Owned {
				t.Fatalf("a key past IdempotencyTTL, another body = %+v; want owned afresh", c)
			}
			n, err := s.DeleteExpiredIdempotencyKeys(ctx)
			if err != nil || n < 5 {
				t.Fatalf("DeleteExpiredIdempotencyKeys = %d, %v; want the 5 or more keys past their time", n, err)
			}
			if c := mustClaim(t, s, "user:1", longKey, fp); c.Owned || !c.Mismatch {
				t.Fatalf("the renewed key = %+v; want kept (a mismatch for the old body)", c)
			}
		})

		t.Run("Concurrent", func(t *testing.T) {
			const n = 12
			var wg sync.WaitGroup
			owned := make(chan *kura.IdempotencyClaim, n)
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := s.ClaimIdempotencyKey(ctx, "addr:10.0.0.1", "race", fp, testLease)
					if err != nil {
						errs <- err
					} else if c.Owned {
						owned <- c
					}
				}()
			}
			wg.Wait()
			close(owned)
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if len(owned) != 1 {
				t.Fatalf("%d of %d concurrent claims owned the key; want 1", len(owned), n)
			}
		})
	})
}
