package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestServer_CloseDrains starts a real listener, holds a request in flight,
// closes the server, and checks that the request still completes while new
// connections are refused.
func TestServer_CloseDrains(t *testing.T) {
	e := newEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	e.store.findHook = func(context.Context, int64) error { close(entered); <-release; return nil }
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	id := e.mustRegister("drain")
	url := e.srv.URL()

	type result struct {
		status int
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		res, err := http.Get(url + "/api/users/" + strconv.FormatInt(id, 10))
		if err != nil {
			inflight <- result{err: err}
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		inflight <- result{status: res.StatusCode}
	}()
	<-entered

	shut := make(chan struct{})
	e.srv.OnShutdown(func() { close(shut) })
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- e.srv.Close(ctx)
	}()
	<-shut // the listener is closed once shutdown hooks run
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := client.Get(url + "/health/live"); err == nil {
		res.Body.Close()
		t.Fatal("a new connection was accepted after Close")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before the in-flight request finished", err)
	default:
	}
	close(release)
	if r := <-inflight; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, err %v", r.status, r.err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestServer_CloseDeadline checks that Close gives up on a request that
// outlives the drain deadline instead of hanging.
func TestServer_CloseDeadline(t *testing.T) {
	e := newEnv(t)
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	e.store.findHook = func(context.Context, int64) error { close(entered); <-release; return nil }
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	id := e.mustRegister("stuck")
	go func() {
		if res, err := http.Get(e.srv.URL() + "/api/users/" + strconv.FormatInt(id, 10)); err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.srv.Close(ctx); err == nil {
		t.Fatal("Close returned nil although a request outlived the deadline")
	}
}
