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

// discardWriter is a minimal http.ResponseWriter, so that the benchmark
// measures the handlers rather than httptest.ResponseRecorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkGetUser compares GET /api/users/{id} through the full Handler
// (request id, access log at info, recovery, routing, JSON) with a bare
// net/http handler doing the same lookup and encoding, over the same fake
// store, so the difference is the middleware's cost.
func BenchmarkGetUser(b *testing.B) {
	store := newFakeStore()
	u, err := store.CreateUser(b.Context(), kura.NewUser{Email: "ann@example.com", Username: "ann", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	path := "/api/users/" + strconv.FormatInt(u.ID, 10)

	newHandler := func(level slog.Level) http.Handler {
		return httpapi.NewServer(httpapi.Config{
			Users: store, Sessions: store,
			Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level})),
		}).Handler()
	}

	bare := http.NewServeMux()
	bare.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		u, err := store.FindUserByID(r.Context(), id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			ID        int64     `json:"id"`
			Username  string    `json:"username"`
			CreatedAt time.Time `json:"created_at"`
		}{u.ID, u.Username, u.CreatedAt.UTC()})
	})

	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"kura", newHandler(slog.LevelInfo)},       // access log formatted (to io.Discard)
		{"kura-nolog", newHandler(slog.LevelWarn)}, // access log disabled by level
		{"bare", bare},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}
