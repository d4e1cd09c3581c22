package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"
)

// RequestIDHeader carries the request id, in and out.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id.
const maxRequestIDLen = 64

type stateKey struct{}

// requestState is what the middleware keeps per request, allocated once:
// the request's context, which it extends with itself under stateKey (one
// allocation where context.WithValue would add a second), the request id,
// the backing array of its response header value and the access log's
// status writer.
type requestState struct {
	context.Context
	id  string
	hdr [1]string
	sw  statusWriter
}

// Value returns the state itself for stateKey, and asks the request's
// context for any other key.
func (st *requestState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return st
	}
	return st.Context.Value(key)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	if st, _ := ctx.Value(stateKey{}).(*requestState); st != nil {
		return st.id
	}
	return ""
}

// requestID accepts a sane incoming X-Request-Id or makes a random one,
// echoes it in the response and puts it in the request's context.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{Context: r.Context(), id: header(r, RequestIDHeader)}
		if !validRequestID(st.id) {
			st.id = newRequestID()
		}
		st.hdr[0] = st.id
		w.Header()[RequestIDHeader] = st.hdr[:]
		next.ServeHTTP(w, r.WithContext(st))
	})
}

// header returns the first value of r's header of the canonical name key
// (such as "X-Request-Id"), as r.Header.Get does, without canonicalising
// key again on every call: net/http canonicalised the names it read, and
// Header.Set and Add do too.
func header(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// validRequestID reports whether id is 1 to 64 characters of [A-Za-z0-9._-].
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// newRequestID returns 16 random hex digits. Request ids correlate log
// lines; they are not secrets, so the runtime's fast generator will do.
func newRequestID() string {
	const hex = "0123456789abcdef"
	var b [16]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = hex[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// statusWriter records the status and size of a response for the access
// log. Unwrap lets http.ResponseController reach the underlying writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// UnmatchedRoute is the route the access log, and kura's metrics, name a
// request no route matched (a 404 or 405 of the catch-all).
const UnmatchedRoute = "unmatched"

// accessLog counts the requests in flight (Server.InFlight), logs one
// info line per request: method, route pattern (UnmatchedRoute for none),
// path, status, duration (a time.Duration: nanoseconds in JSON), bytes
// and request id, and hands the same facts to Config.OnRequest. It
// never logs headers, bodies or the query string, any of which may carry
// a credential.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		logging := s.logger.Enabled(r.Context(), slog.LevelInfo)
		if !logging && s.cfg.OnRequest == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		st, _ := r.Context().Value(stateKey{}).(*requestState)
		if st == nil { // not behind requestID: no id to log
			st = &requestState{Context: r.Context()}
		}
		sw := &st.sw // allocated with the request's state
		sw.ResponseWriter = w
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		route := r.Pattern
		if route == "/" { // the catch-all that answers 404 and 405
			route = ""
		}
		if s.cfg.OnRequest != nil {
			s.cfg.OnRequest(RequestInfo{Method: r.Method, Route: route, Status: sw.status, Bytes: sw.bytes, Duration: took})
		}
		if !logging {
			return
		}
		// r.Pattern was set by the ServeMux on this same *Request. The
		// record goes to the handler as Logger.LogAttrs would send it, but
		// without the caller's program counter: LogAttrs unwinds the stack
		// for it on every call, and the access log's source is always this
		// line.
		rec := slog.NewRecord(start.Add(took), slog.LevelInfo, "http request", 0)
		rec.AddAttrs(
			slog.String("method", r.Method),
			slog.String("route", cmp.Or(route, UnmatchedRoute)),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", took),
			slog.Int64("bytes", sw.bytes),
			slog.String("request_id", st.id),
		)
		_ = s.logger.Handler().Handle(r.Context(), rec)
	})
}

// recoverPanics turns a panic into a logged stack and, if nothing was
// written yet, a 500 in the JSON error shape with nothing of the panic in
// it. http.ErrAbortHandler is passed on: it is net/http's way to abort a
// response on purpose.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", RequestID(r.Context())),
				slog.String("route", r.Pattern),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())),
			)
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// Too late for a clean answer: abort the connection so the
				// client cannot take a cut response for a whole one.
				panic(http.ErrAbortHandler)
			}
			s.writeInternal(w, r)
		}()
		next.ServeHTTP(w, r)
	})
}
