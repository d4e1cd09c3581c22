package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/httpapi"
)

func TestRequestID(t *testing.T) {
	e := newEnv(t)
	id := e.mustRegister("ann")
	var seen string
	e.store.findHook = func(ctx context.Context, _ int64) error {
		seen = httpapi.RequestID(ctx)
		return nil
	}
	path := fmt.Sprintf("/api/users/%d", id)

	t.Run("Accepted", func(t *testing.T) {
		w := e.doHeader("GET", path, "X-Request-Id", "abc-123_X.y")
		if got := w.Header().Get("X-Request-Id"); got != "abc-123_X.y" || seen != got {
			t.Errorf("header %q, context %q", got, seen)
		}
	})
	generated := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for name, in := range map[string]string{
		"Missing":  "",
		"TooLong":  strings.Repeat("a", 65),
		"BadChars": "a b\"<script>",
	} {
		t.Run("Replaced"+name, func(t *testing.T) {
			w := e.doHeader("GET", path, "X-Request-Id", in)
			got := w.Header().Get("X-Request-Id")
			if !generated.MatchString(got) || seen != got {
				t.Errorf("header %q, context %q", got, seen)
			}
		})
	}
	t.Run("Unique", func(t *testing.T) {
		a := e.do("GET", path, nil, "").Header().Get("X-Request-Id")
		b := e.do("GET", path, nil, "").Header().Get("X-Request-Id")
		if a == b {
			t.Errorf("two requests share id %q", a)
		}
	})
}

// TestRequestID_Context checks the context a handler gets: it carries the
// request id and everything of the request's own context, its values and
// its cancellation, and contexts derived from it are cancelled with it.
func TestRequestID_Context(t *testing.T) {
	e := newEnv(t)
	id := e.mustRegister("ann")
	type key struct{}
	var (
		gotID, gotValue any
		derivedErr      error
	)
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "from the request"))
	e.store.findHook = func(ctx context.Context, _ int64) error {
		gotID, gotValue = httpapi.RequestID(ctx), ctx.Value(key{})
		derived, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		cancel() // the client goes away
		<-derived.Done()
		derivedErr = derived.Err()
		return nil
	}
	req := httptest.NewRequestWithContext(parent, "GET", fmt.Sprintf("/api/users/%d", id), nil)
	req.Header.Set("X-Request-Id", "req-7")
	e.serve(req)
	if gotID != "req-7" || gotValue != "from the request" || !errors.Is(derivedErr, context.Canceled) {
		t.Errorf("request id %q, value %q, derived context's error %v", gotID, gotValue, derivedErr)
	}
	if httpapi.RequestID(context.Background()) != "" {
		t.Error("RequestID of a context without one is not empty")
	}
}

// logLine is one access log record.
type logLine struct {
	Msg       string `json:"msg"`
	Level     string `json:"level"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Duration  int64  `json:"duration"`
	RequestID string `json:"request_id"`
}

// accessLines returns the access log records in logs.
func accessLines(t *testing.T, logs string) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if l.Msg == "http request" {
			out = append(out, l)
		}
	}
	return out
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t)
	id, tok := e.mustUser("ann", false)
	start := len(accessLines(t, e.logs.String()))

	req := httptest.NewRequest("GET", fmt.Sprintf("/api/users/%d?access_token=querysecret", id), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Request-Id", "req-42")
	w := e.serve(req)
	mustStatus(t, w, http.StatusOK)
	mustError(t, e.do("GET", "/api/users/999", nil, ""), http.StatusNotFound, "not_found")
	mustError(t, e.do("GET", "/nowhere", nil, ""), http.StatusNotFound, "not_found")
	mustError(t, e.do("PUT", "/health", nil, ""), http.StatusMethodNotAllowed, "method_not_allowed")

	logs := e.logs.String()
	for _, secret := range []string{tok, "querysecret", "correct horse"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds a secret %q:\n%s", secret, logs)
		}
	}
	lines := accessLines(t, logs)[start:]
	if len(lines) != 4 {
		t.Fatalf("got %d access lines, want 4:\n%s", len(lines), logs)
	}
	l := lines[0]
	if l.Level != "INFO" || l.Method != "GET" || l.Route != "GET /api/users/{id}" ||
		l.Path != fmt.Sprintf("/api/users/%d", id) || l.Status != 200 ||
		l.Bytes != int64(w.Body.Len()) || l.RequestID != "req-42" || l.Duration <= 0 {
		t.Errorf("access line = %+v", l)
	}
	if lines[1].Status != 404 || lines[1].Route != "GET /api/users/{id}" {
		t.Errorf("access line = %+v", lines[1])
	}
	// What no route matched is "unmatched", as the metrics' route label
	// (httpapi.UnmatchedRoute), never the catch-all's pattern "/".
	for _, l := range lines[2:] {
		if l.Route != "unmatched" {
			t.Errorf("unmatched request's access line = %+v", l)
		}
	}
	// duration is a number (nanoseconds) in every JSON line.
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) == nil && m["duration"] != nil {
			if _, ok := m["duration"].(float64); !ok {
				t.Errorf("duration is not a number: %s", raw)
			}
		}
	}
}

func TestRecoverPanic(t *testing.T) {
	e := newEnv(t)
	id := e.mustRegister("ann")
	path := fmt.Sprintf("/api/users/%d", id)
	srv := openServer(t, e)
	var panicking atomic.Bool
	panicking.Store(true)
	e.store.findHook = func(context.Context, int64) error {
		if panicking.Load() {
			panic("boom: password=hunter2")
		}
		return nil
	}

	resp := mustGet(t, srv.URL()+path)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || strings.Contains(string(body), "hunter2") || strings.Contains(string(body), "boom") ||
		string(body) != `{"error":{"code":"internal","message":"Internal error."}}`+"\n" {
		t.Errorf("status %d, body %s", resp.StatusCode, body)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "boom") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic and stack not logged:\n%s", logs)
	}

	panicking.Store(false)
	if resp := mustGet(t, srv.URL()+path); resp.StatusCode != 200 {
		t.Errorf("after a panic: status %d", resp.StatusCode)
	}

	t.Run("ErrAbortHandler", func(t *testing.T) {
		e.store.findHook = func(context.Context, int64) error { panic(http.ErrAbortHandler) }
		resp, err := http.Get(srv.URL() + path)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("aborted response was delivered: %d", resp.StatusCode)
		}
	})
}

// openServer opens e's server on a free port and closes it at the end.
func openServer(t *testing.T, e *env) *httpapi.Server {
	t.Helper()
	if err := e.srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e.srv
}

// mustGet GETs url; the body is closed at the end of the test.
func mustGet(t *testing.T, url string) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
