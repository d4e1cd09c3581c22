package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
)

// syncBuffer captures logs written from several goroutines.
type syncBuffer = testenv.LogBuffer

// env is a Server over a fake store, with its log captured.
type env struct {
	t     *testing.T
	store *fakeStore
	srv   *httpapi.Server
	logs  *syncBuffer
}

// newEnv returns an env; edit adjusts the Config before NewServer.
func newEnv(t *testing.T, edit ...func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{t: t, store: newFakeStore(), logs: &syncBuffer{}}
	cfg := httpapi.Config{
		Addr:     "127.0.0.1:0",
		Users:    e.store,
		Sessions: e.store,
		Logger:   slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range edit {
		f(&cfg)
	}
	e.srv = httpapi.NewServer(cfg)
	return e
}

// do sends a request through the full Handler. body is sent as is if it
// is a string, JSON-encoded otherwise (nil sends nothing).
func (e *env) do(method, path string, body any, token string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(req)
}

// doHeader sends a bodiless request with one extra header.
func (e *env) doHeader(method, path, key, value string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set(key, value)
	return e.serve(req)
}

// serve runs req through the full Handler, and checks the response
// against the server's OpenAPI description.
func (e *env) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	checkOpenAPI(e.t, e.srv, req, w)
	return w
}

// checkOpenAPI fails t unless the response w to req is as srv's
// description (GET /openapi.json) says. A route a test adds without
// describing it is not checked.
func checkOpenAPI(t testing.TB, srv *httpapi.Server, req *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	v, err := validatorOf(srv)
	if err == nil {
		err = v.Check(req, w.Code, w.Header(), w.Body.Bytes())
	}
	if errors.Is(err, openapitest.ErrUndescribed) && srv.MatchedPattern(req) != "/" {
		return // a test's own route
	}
	if err != nil {
		t.Errorf("openapi: %v", err)
	}
}

// mustRegister creates a user through the API and returns its id.
func (e *env) mustRegister(username string) int64 {
	e.t.Helper()
	w := e.do("POST", "/api/users", map[string]string{
		"email": username + "@example.com", "username": username, "password": "correct horse",
	}, "")
	mustStatus(e.t, w, http.StatusCreated)
	var u struct{ ID int64 }
	mustDecode(e.t, w, &u)
	return u.ID
}

// mustLogin logs in through the API and returns the token.
func (e *env) mustLogin(username string) string {
	e.t.Helper()
	w := e.do("POST", "/api/auth/login", map[string]string{"login": username, "password": "correct horse"}, "")
	mustStatus(e.t, w, http.StatusOK)
	var s struct{ Token string }
	mustDecode(e.t, w, &s)
	return s.Token
}

// mustUser registers and logs in a user, an admin if admin is set.
func (e *env) mustUser(username string, admin bool) (int64, string) {
	e.t.Helper()
	id := e.mustRegister(username)
	if admin {
		e.store.setRole(id, kura.RoleAdmin)
	}
	return id, e.mustLogin(username)
}

func mustStatus(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status = %d, want %d; body: %s", w.Code, want, w.Body)
	}
}

func mustDecode(t *testing.T, w *httptest.ResponseRecorder, dst any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), dst); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
}

// apiError is the JSON error shape.
type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// mustError checks the status, that the body is exactly the error shape
// (no other keys), and the code; it returns the decoded error.
func mustError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) apiError {
	t.Helper()
	mustStatus(t, w, status)
	var raw map[string]map[string]any
	mustDecode(t, w, &raw)
	if len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("body is not {\"error\": ...}: %s", w.Body)
	}
	for k := range raw["error"] {
		if k != "code" && k != "message" && k != "fields" {
			t.Fatalf("unexpected key %q in error: %s", k, w.Body)
		}
	}
	var e apiError
	mustDecode(t, w, &e)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error code = %q (message %q), want %q", e.Error.Code, e.Error.Message, code)
	}
	if f, ok := raw["error"]["fields"]; ok && len(f.(map[string]any)) == 0 {
		t.Fatalf("empty fields must be omitted: %s", w.Body)
	}
	return e
}

// validators keeps the Validator of each server's description, by the
// server and its number of routes (a test may add some after a request):
// a check then costs no more than the validation itself, so that it does
// not weigh on the tests that time a request.
var validators sync.Map // validatorKey → *openapitest.Validator

type validatorKey struct {
	srv    *httpapi.Server
	routes int
}

func validatorOf(srv *httpapi.Server) (*openapitest.Validator, error) {
	key := validatorKey{srv, len(srv.Routes())}
	if v, ok := validators.Load(key); ok {
		return v.(*openapitest.Validator), nil
	}
	v, err := openapitest.New(srv.OpenAPIDocument())
	if err == nil {
		validators.Store(key, v)
	}
	return v, err
}

// keysOf returns the sorted keys of a JSON object.
func keysOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var m map[string]json.RawMessage
	mustDecode(t, w, &m)
	return strings.Join(sortedKeys(m), ",")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newStreamRequest returns a request whose body length is unknown
// (ContentLength -1), like a chunked upload.
func newStreamRequest(method, path, body string) *http.Request {
	req := httptest.NewRequest(method, path, io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1
	return req
}
