package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura/httpapi"
)

func TestNewServer_Defaults(t *testing.T) {
	store := newFakeStore()
	s := httpapi.NewServer(httpapi.Config{Users: store, Sessions: store})
	if s.Addr() != nil || s.URL() != "" {
		t.Errorf("before Open: Addr %v, URL %q", s.Addr(), s.URL())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close before Open: %v", err)
	}
}

func TestNewServer_Panics(t *testing.T) {
	store := newFakeStore()
	for name, cfg := range map[string]httpapi.Config{
		"NoServices":     {},
		"DuplicateCheck": {Users: store, Sessions: store, Checks: []httpapi.HealthCheck{check("db", nil, false), check("db", nil, false)}},
		"StatusCheck":    {Users: store, Sessions: store, Checks: []httpapi.HealthCheck{check("status", nil, false)}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			httpapi.NewServer(cfg)
		})
	}
}

func TestServer_OpenURL(t *testing.T) {
	e := newEnv(t)
	srv := openServer(t, e)
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") || strings.HasSuffix(srv.URL(), ":0") {
		t.Fatalf("URL = %q", srv.URL())
	}
	resp := mustGet(t, srv.URL()+"/health/live")
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if err := srv.Open(); err == nil {
		t.Error("second Open succeeded")
	}
}

// blockingEnv returns an open env whose FindUserByID signals entered and
// then waits for release.
func blockingEnv(t *testing.T) (e *env, path string, entered, release chan struct{}) {
	e = newEnv(t)
	id := e.mustRegister("ann")
	entered, release = make(chan struct{}), make(chan struct{})
	e.store.findHook = func(ctx context.Context, _ int64) error {
		close(entered)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	return e, fmt.Sprintf("%s/api/users/%d", e.srv.URL(), id), entered, release
}

type result struct {
	status int
	body   string
	err    error
}

func getAsync(url string) chan result {
	ch := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- result{resp.StatusCode, string(b), err}
	}()
	return ch
}

func TestServer_CloseDrains(t *testing.T) {
	e, url, entered, release := blockingEnv(t)
	addr := e.srv.Addr().String()
	listenerClosed := make(chan struct{})
	e.srv.OnShutdown(func() { close(listenerClosed) })

	inflight := getAsync(url)
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- e.srv.Close(context.Background()) }()

	<-listenerClosed
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("a new connection was accepted after Close")
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned before the in-flight request finished: %v", err)
	default:
	}

	close(release)
	if r := <-inflight; r.err != nil || r.status != 200 || !strings.Contains(r.body, `"username":"ann"`) {
		t.Errorf("in-flight request: %+v", r)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestServer_CloseForcesAtDeadline(t *testing.T) {
	e, url, entered, release := blockingEnv(t)
	defer close(release)
	inflight := getAsync(url)
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the drain deadline has already passed
	if err := e.srv.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close = %v, want context.Canceled", err)
	}
	if r := <-inflight; r.err == nil {
		t.Errorf("in-flight request survived a forced close: %+v", r)
	}
}
