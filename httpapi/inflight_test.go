package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kura-dev/kura/httpapi"
)

// TestServer_InFlight holds a request in its handler and checks that
// InFlight counts it while it runs and not after, with the access log off
// as well as on.
func TestServer_InFlight(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		e := newEnv(t)
		if quiet {
			e = newEnv(t, func(c *httpapi.Config) { c.Logger = slog.New(slog.DiscardHandler) })
		}
		entered, release := make(chan struct{}), make(chan struct{})
		e.srv.Handle("GET /api/slow", func(w http.ResponseWriter, r *http.Request) error {
			close(entered)
			<-release
			w.WriteHeader(http.StatusNoContent)
			return nil
		})
		if n := e.srv.InFlight(); n != 0 {
			t.Fatalf("InFlight before any request = %d", n)
		}
		done := make(chan *httptest.ResponseRecorder)
		go func() {
			w := httptest.NewRecorder()
			e.srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/slow", nil))
			done <- w
		}()
		<-entered
		if n := e.srv.InFlight(); n != 1 {
			t.Errorf("InFlight while a request runs = %d, want 1", n)
		}
		close(release)
		if w := <-done; w.Code != http.StatusNoContent {
			t.Fatalf("status %d", w.Code)
		}
		if n := e.srv.InFlight(); n != 0 {
			t.Errorf("InFlight after the request = %d, want 0", n)
		}
	}
}
