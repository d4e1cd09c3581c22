package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// BenchmarkGetUser measures GET /api/users/{id} through kura's whole
// handler chain (request id, access log, recovery, routing, error mapping,
// views) against a bare handler calling the same service, in the same run,
// so the ratio is the cost of the HTTP layer alone. The access log is on,
// written to io.Discard.
//
//	go test -run '^$' -bench GetUser -benchmem ./httpapi/
func BenchmarkGetUser(b *testing.B) {
	store := newFakeStore()
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := httpapi.NewServer(httpapi.Config{Users: store, Sessions: store, Logger: logger})
	u, err := store.CreateUser(b.Context(), kura.NewUser{Email: "bench@example.com", Username: "bench", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	path := "/api/users/" + strconv.FormatInt(u.ID, 10)

	bare := http.NewServeMux()
	bare.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		u, err := store.FindUserByID(r.Context(), id)
		if err != nil {
			http.Error(w, "error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			ID        int64     `json:"id"`
			Username  string    `json:"username"`
			CreatedAt time.Time `json:"created_at"`
		}{u.ID, u.Username, u.CreatedAt})
	})

	for _, bm := range []struct {
		name string
		h    http.Handler
	}{{"kura", srv.Handler()}, {"bare", bare}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", path, nil)
				for pb.Next() {
					w := httptest.NewRecorder()
					bm.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}
