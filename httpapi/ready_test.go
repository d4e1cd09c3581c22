package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestReady: /health/ready, the balancer's check, fails only for what
// stops this instance from serving: a busy pool is still ready, an
// unreachable database is not, and optional checks are not run.
func TestReady(t *testing.T) {
	secret := errors.New("dial postgres://kura:hunter2@db: refused")
	for _, tt := range []struct {
		name   string
		checks []httpapi.HealthCheck
		status int
		body   string
	}{
		{"NoChecks", nil, 200, `{"status":"ready"}`},
		{"Connected", []httpapi.HealthCheck{check("database", nil, false), check("cache", secret, true)},
			200, `{"database":"connected","status":"ready"}`},
		{"Busy", []httpapi.HealthCheck{check("database", fmt.Errorf("ping: %w", kura.ErrBusy), false)},
			200, `{"database":"busy","status":"ready"}`},
		{"Unreachable", []httpapi.HealthCheck{check("database", secret, false)},
			503, `{"database":"unreachable","status":"unavailable"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *httpapi.Config) { c.Checks = tt.checks })
			w := e.do("GET", "/health/ready", nil, "")
			mustStatus(t, w, tt.status)
			if retry := w.Header().Get("Retry-After"); (tt.status == 503) != (retry != "") {
				t.Errorf("Retry-After = %q with status %d", retry, tt.status)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.body {
				t.Errorf("body = %s, want %s", got, tt.body)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Error("the check's error text reached the body")
			}
		})
	}
}

// rawConn is one keep-alive connection driven by hand, so that the test
// knows which connection each request travels on.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, rd: bufio.NewReader(c)}
}

// get sends GET path on the connection and reads the answer.
func (r *rawConn) get(path string) (*http.Response, error) {
	if _, err := fmt.Fprintf(r.c, "GET %s HTTP/1.1\r\nHost: kura\r\n\r\n", path); err != nil {
		return nil, err
	}
	res, err := http.ReadResponse(r.rd, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var b strings.Builder
	_, err = bufio.NewReader(res.Body).WriteTo(&b)
	res.Header.Set("X-Test-Body", strings.TrimSpace(b.String()))
	return res, err
}

// TestDrain: while draining, both health endpoints say "draining" with
// 503, every other request is still served, on a keep-alive connection
// opened before (left open while idle) with Connection: close; a balancer
// that still sends requests at the end of the delay is named in a warning;
// Close then refuses new connections.
func TestDrain(t *testing.T) {
	e := newEnv(t, func(c *httpapi.Config) { c.Checks = []httpapi.HealthCheck{check("database", nil, false)} })
	id := e.mustRegister("ann")
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	addr := e.srv.Addr().String()
	idle := dialRaw(t, addr)
	res, err := idle.get("/health/ready")
	if err != nil || res.StatusCode != 200 || res.Close {
		t.Fatalf("before the drain: %v, %+v", err, res)
	}

	ctx, cut := context.WithCancel(context.Background())
	drained := make(chan struct{})
	go func() { e.srv.Drain(ctx, time.Hour); close(drained) }()
	testenv.Wait(t, 10*time.Second, "the server to drain", e.srv.Draining)

	for _, path := range []string{"/health/ready", "/health"} {
		w := e.do("GET", path, nil, "")
		mustStatus(t, w, 503)
		if !strings.Contains(w.Body.String(), `"status":"draining"`) || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s while draining: %s, Retry-After %q", path, w.Body.String(), w.Header().Get("Retry-After"))
		}
	}
	// The idle connection of before was not cut: a request sent on it is
	// served, and the connection closes after the answer.
	res, err = idle.get(fmt.Sprintf("/api/users/%d", id))
	if err != nil {
		t.Fatalf("a request on a keep-alive connection opened before the drain: %v", err)
	}
	if res.StatusCode != 200 || !res.Close || !strings.Contains(res.Header.Get("X-Test-Body"), `"username":"ann"`) {
		t.Fatalf("while draining: status %d, Connection: close %v, body %s", res.StatusCode, res.Close, res.Header.Get("X-Test-Body"))
	}
	if _, err := idle.get("/health/live"); err == nil {
		t.Error("the connection stayed open after Connection: close")
	}

	cut()
	<-drained
	if logs := e.logs.String(); !strings.Contains(logs, `"level":"WARN","msg":"the load balancer still sends requests to this draining instance`) ||
		!strings.Contains(logs, `"requests_while_draining":1`) {
		t.Errorf("no warning naming the balancer's late request:\n%s", logs)
	}
	if err := e.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("a new connection was accepted after Close")
	}
}

// TestDrain_Quiet: a drain no request arrives during ends after its delay
// with an info line, no warning.
func TestDrain_Quiet(t *testing.T) {
	e := newEnv(t)
	e.srv.Drain(context.Background(), time.Millisecond)
	if !e.srv.Draining() {
		t.Fatal("not draining after Drain")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg":"drain delay over","requests_while_draining":0`) || strings.Contains(logs, "WARN") {
		t.Errorf("logs:\n%s", logs)
	}
}
