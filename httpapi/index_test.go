package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura/httpapi"
)

func TestIndex(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, func(c *httpapi.Config) {
			c.Index = &httpapi.Index{Name: "kura", Version: "v9.9.9", Links: map[string]string{"health": "/health"}}
		})
		w := e.do("GET", "/", nil, "")
		mustStatus(t, w, http.StatusOK)
		var got httpapi.Index
		mustDecode(t, w, &got)
		if got.Name != "kura" || got.Version != "v9.9.9" || got.Links["health"] != "/health" {
			t.Fatalf("index = %+v", got)
		}
		// Without a Version, the answer has none.
		e = newEnv(t, func(c *httpapi.Config) {
			c.Index = &httpapi.Index{Name: "kura", Links: map[string]string{"health": "/health"}}
		})
		if w := e.do("GET", "/", nil, ""); strings.Contains(w.Body.String(), "version") {
			t.Fatalf("GET / without a Version = %s", w.Body)
		}
		// Only / itself: any other unknown path stays a 404.
		mustStatus(t, e.do("GET", "/nothing-here", nil, ""), http.StatusNotFound)
		mustStatus(t, e.do("POST", "/", nil, ""), http.StatusMethodNotAllowed)
	})
	t.Run("NoIndex", func(t *testing.T) {
		mustStatus(t, newEnv(t).do("GET", "/", nil, ""), http.StatusNotFound)
	})
}

// TestServer_Serve serves on a listener bound by the caller: the port is
// held from before the server exists, and Close releases it.
func TestServer_Serve(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if _, err := net.Listen("tcp", addr); err == nil {
		t.Fatal("a second listener on a bound port succeeded")
	}
	e := newEnv(t)
	if err := e.srv.Serve(ln); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.URL(); got != "http://"+addr {
		t.Fatalf("URL() = %q, want http://%s", got, addr)
	}
	res, err := http.Get(e.srv.URL() + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /health/live: %d", res.StatusCode)
	}
	if err := e.srv.Serve(ln); err == nil {
		t.Fatal("a second Serve succeeded")
	}
	if err := e.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still held after Close: %v", err)
	}
	again.Close()
}
