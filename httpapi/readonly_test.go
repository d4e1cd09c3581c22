package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// TestServer_ReadOnly: in read-only mode every write, login, logout and
// registration included, is answered 503 read_only with Retry-After 5 and
// changes nothing; reads are served; leaving the mode lets writes in again.
func TestServer_ReadOnly(t *testing.T) {
	if httpapi.ErrorStatus(kura.EREADONLY) != http.StatusServiceUnavailable {
		t.Fatalf("ErrorStatus(EREADONLY) = %d", httpapi.ErrorStatus(kura.EREADONLY))
	}
	e := newEnv(t)
	id, token := e.mustUser("ann", false)
	ctx := context.Background()
	if err := e.srv.SetReadOnly(ctx, true); err != nil {
		t.Fatal(err)
	}
	if !e.srv.ReadOnly() {
		t.Fatal("ReadOnly() = false after SetReadOnly(true)")
	}
	user := fmt.Sprintf("/api/users/%d", id)
	for _, w := range []struct {
		method, path string
		body         any
		token        string
	}{
		{"POST", "/api/users", map[string]string{"email": "bob@example.com", "username": "bob", "password": "a long password 1"}, ""},
		{"POST", "/api/auth/login", map[string]string{"login": "ann", "password": "password-of-ann"}, ""},
		{"POST", "/api/auth/logout", nil, token},
		{"PATCH", user, map[string]string{"username": "anne"}, token},
		{"DELETE", user, nil, token},
		{"PUT", "/api/nothing-here", nil, ""},
	} {
		rec := e.do(w.method, w.path, w.body, w.token)
		got := mustError(t, rec, http.StatusServiceUnavailable, kura.EREADONLY)
		if rec.Header().Get("Retry-After") != "5" || got.Error.Message == "" {
			t.Errorf("%s %s: Retry-After %q, message %q", w.method, w.path, rec.Header().Get("Retry-After"), got.Error.Message)
		}
	}
	for _, path := range []string{user, "/api/users/me", "/health"} {
		mustStatus(t, e.do("GET", path, nil, token), http.StatusOK)
	}
	if u, err := e.store.FindUserByID(ctx, id); err != nil || u.Username != "ann" {
		t.Fatalf("the user after refused writes: %+v %v", u, err)
	}
	if err := e.srv.SetReadOnly(ctx, false); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, e.do("PATCH", user, map[string]string{"username": "anne"}, token), http.StatusOK)
}

// TestServer_ReadOnlyWaitsForWrites: turning read-only mode on returns
// only once the write under way has been answered; a deadline that comes
// first is returned, with the mode on.
func TestServer_ReadOnlyWaitsForWrites(t *testing.T) {
	e := newEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	e.srv.Handle("POST /hold", func(w http.ResponseWriter, r *http.Request) error {
		close(entered)
		<-release
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	answered := make(chan int, 1)
	go func() { answered <- e.do("POST", "/hold", nil, "").Code }()
	<-entered

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.srv.SetReadOnly(short, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SetReadOnly with a write under way past the deadline: %v", err)
	}
	mustError(t, e.do("POST", "/hold", nil, ""), http.StatusServiceUnavailable, kura.EREADONLY)

	done := make(chan error, 1)
	go func() { done <- e.srv.SetReadOnly(context.Background(), true) }()
	select {
	case err := <-done:
		t.Fatalf("SetReadOnly returned (%v) while a write was under way", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if code := <-answered; code != http.StatusNoContent {
		t.Fatalf("the write under way: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
