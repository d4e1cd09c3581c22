package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/kura-dev/kura"
)

// Idempotency keys: a write sent with an Idempotency-Key header runs once
// per (caller, key) within kura.IdempotencyTTL, whichever instance gets it
// and however often it is retried. The first request claims the key in
// Config.Idempotency (one atomic insert), runs, and stores its answer;
// a retry with the same method, path and body gets that answer again,
// marked Idempotent-Replayed: true; a concurrent duplicate waits for the
// first, up to Config.IdempotencyWait, then gets 409 in_progress; another
// request with the same key gets 422 idempotency_key_reused. Answers that
// say "try again" (5xx, 401, 408, 429) are not kept: the claim is released
// so that a retry runs. GET, HEAD, OPTIONS and requests without the header
// go by untouched; so do the routes that issue or end a bearer token
// (login, logout), whose answer is a secret or whose caller is gone.

// The headers of idempotency keys: the request's key, and the mark of an
// answer replayed.
const (
	IdempotencyKeyHeader     = "Idempotency-Key"
	IdempotentReplayedHeader = "Idempotent-Replayed"
)

// DefaultIdempotencyWait is Config.IdempotencyWait's default.
const DefaultIdempotencyWait = 10 * time.Second

const (
	maxStoredResponse       = 1 << 20         // a larger answer is not kept
	idempotencyStoreTimeout = 5 * time.Second // to keep or release an answer, the client gone or not
	firstIdempotencyPoll    = 10 * time.Millisecond
	maxIdempotencyPoll      = 200 * time.Millisecond
	maxScopeLen             = 128 // idempotency_keys.scope's width on MySQL
)

// storedHeaders are the headers of an answer kept with it.
var storedHeaders = []string{"Content-Type", "Location", "Retry-After", "Cache-Control"}

// noIdempotency are kura's write routes that take no idempotency key: the
// login's answer is a bearer token, a secret the table must not hold, and
// a logout's retry finds its token ended, so its caller is anonymous then.
var noIdempotency = map[string]bool{"POST /api/auth/login": true, "POST /api/auth/logout": true}

// addressScoped are kura's write routes whose keys are their client
// address's whatever the request carries: a registration is anonymous,
// and verifying a token it ignores would cost a lookup and, for a token
// that does not verify, an event of the address's limit it counts again.
var addressScoped = map[string]bool{"POST /api/users": true}

var (
	errBadIdempotencyKey = kura.Errorf(kura.EBADREQUEST, "Idempotency-Key must be one header of 1 to %d printable ASCII characters.", kura.MaxIdempotencyKey)
	errKeyReused         = kura.Errorf(kura.EKEYREUSED, "This Idempotency-Key was used for another request (method, path or body); use a new key for a new request.")
	errInProgress        = kura.Errorf(kura.EINPROGRESS, "A request with this Idempotency-Key is still running; retry later.")
)

// takesIdempotencyKey reports whether the route of pattern, of method,
// answers Idempotency-Key.
func (s *Server) takesIdempotencyKey(method, pattern string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return s.cfg.Idempotency != nil && !noIdempotency[pattern] && !slices.Contains(s.cfg.IdempotencyExcept, pattern)
	}
	return false
}

// idempotent wraps the handler of the write route of pattern with
// idempotency keys.
func (s *Server) idempotent(pattern string, next http.HandlerFunc) http.HandlerFunc {
	byAddress := addressScoped[pattern]
	return func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header[IdempotencyKeyHeader]
		if len(keys) == 0 {
			next(w, r)
			return
		}
		if len(keys) > 1 || !kura.ValidIdempotencyKey(keys[0]) {
			s.writeError(w, r, errBadIdempotencyKey)
			return
		}
		r, scope, err := s.idempotencyScope(r, byAddress)
		var body []byte
		if err == nil {
			body, err = readBody(r, s.cfg.MaxBodyBytes)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c, err := s.claimKey(r, scope, keys[0], fingerprint(r, body))
		switch {
		case err != nil:
			s.writeError(w, r, err)
		case c.Mismatch:
			s.writeError(w, r, errKeyReused)
		case c.Response != nil:
			replay(w, c.Response)
		default:
			s.runOnce(w, r, next, c)
		}
	}
}

// idempotencyScope returns whose keys r's are: "user:<id>" for a token
// that verifies, "addr:<ClientAddr>" otherwise, and r with the outcome of
// verifying its token in its context, so that the handler neither
// verifies nor counts it again; with byAddress, the address whatever r
// carries. Errors: the session store's other than EUNAUTHORIZED,
// ERATELIMITED.
func (s *Server) idempotencyScope(r *http.Request, byAddress bool) (*http.Request, string, error) {
	if _, present, _ := bearerToken(r); present && !byAddress {
		u, err := s.optionalUser(r)
		if err != nil && kura.ErrorCode(err) != kura.EUNAUTHORIZED {
			return r, "", err
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, &callerResult{u, err}))
		if u != nil {
			return r, "user:" + strconv.FormatInt(u.ID, 10), nil
		}
	}
	scope := "addr:" + s.ClientAddr(r)
	if len(scope) > maxScopeLen { // not an address: a peer of another kind
		sum := sha256.Sum256([]byte(scope))
		scope = "addr#" + hex.EncodeToString(sum[:16])
	}
	return r, scope, nil
}

// readBody reads r's body whole, at most maxBytes. Errors: ETOOLARGE,
// EBADREQUEST.
func readBody(r *http.Request, maxBytes int64) ([]byte, error) {
	if r.ContentLength > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, kura.Errorf(kura.EBADREQUEST, "Could not read the request body.")
	}
	if int64(len(body)) > maxBytes {
		return nil, tooLarge(maxBytes)
	}
	return body, nil
}

// fingerprint returns the sha256 of r's method, path and query, and body.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	io.WriteString(h, r.Method+"\x00"+r.URL.RequestURI()+"\x00")
	h.Write(body)
	return h.Sum(nil)
}

// claimKey claims the key, waiting while a duplicate runs, up to
// Config.IdempotencyWait. Errors: EINPROGRESS once the wait is over, the
// store's, ctx's.
func (s *Server) claimKey(r *http.Request, scope, key string, fp []byte) (*kura.IdempotencyClaim, error) {
	ctx := r.Context()
	deadline := time.Now().Add(s.cfg.IdempotencyWait)
	pause := firstIdempotencyPoll
	for {
		c, err := s.cfg.Idempotency.ClaimIdempotencyKey(ctx, scope, key, fp, s.idempotencyLease())
		if err != nil || c.Owned || c.Mismatch || c.Response != nil {
			return c, err
		}
		if time.Until(deadline) < pause {
			return nil, errInProgress
		}
		if err := sleep(ctx, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, maxIdempotencyPoll)
	}
}

// idempotencyLease is how long a claim may stay unanswered before another
// request takes it over, its owner presumed dead: twice WriteTimeout, past
// which no answer can reach its client anyway.
func (s *Server) idempotencyLease() time.Duration { return 2 * s.cfg.WriteTimeout }

// replay answers a stored response.
func replay(w http.ResponseWriter, resp *kura.StoredResponse) {
	h := w.Header()
	for k, v := range resp.Header {
		h.Set(k, v)
	}
	if _, ok := resp.Header["Content-Type"]; ok {
		h["X-Content-Type-Options"] = nosniff
	}
	h.Set(IdempotentReplayedHeader, "true")
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// runOnce runs the handler of an owned claim and stores its answer, or
// releases the claim when the answer is not to be kept, the handler
// panics or the answer is too large to keep.
func (s *Server) runOnce(w http.ResponseWriter, r *http.Request, next http.HandlerFunc, c *kura.IdempotencyClaim) {
	rec := &recorder{ResponseWriter: w}
	finished := false
	defer func() {
		if !finished { // a panic, on its way up
			s.settle(r, c, nil)
		}
	}()
	next(rec, r)
	finished = true
	s.settle(r, c, rec.response())
}

// settle stores resp as c's answer, or releases c when resp is nil, with
// a context of its own: a client gone must not leave the claim behind.
func (s *Server) settle(r *http.Request, c *kura.IdempotencyClaim, resp *kura.StoredResponse) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), idempotencyStoreTimeout)
	defer cancel()
	var err error
	if resp != nil {
		err = s.cfg.Idempotency.CompleteIdempotencyKey(ctx, c, resp)
	} else {
		err = s.cfg.Idempotency.ReleaseIdempotencyKey(ctx, c)
	}
	if err != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "idempotency key not settled; a retry waits for its lease",
			slog.String("request_id", RequestID(r.Context())), slog.String("route", r.Pattern),
			slog.Bool("answer_kept", resp != nil), slog.Any("err", err))
	}
}

// recorder passes a response on while keeping a copy of what a retry
// would be answered: the status, the headers that matter, the body.
type recorder struct {
	http.ResponseWriter
	status   int
	header   map[string]string
	body     bytes.Buffer
	overflow bool
}

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
		h := w.ResponseWriter.Header()
		for _, k := range storedHeaders {
			if v := h.Get(k); v != "" {
				if w.header == nil {
					w.header = map[string]string{}
				}
				w.header[k] = v
			}
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.body.Len()+len(p) > maxStoredResponse {
		w.overflow = true
	} else {
		w.body.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// response returns the answer to keep, or nil for one a retry must run
// again for: a server error, an unauthorized or timed-out request, a rate
// limit, or one too large to keep.
func (w *recorder) response() *kura.StoredResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing
	}
	switch {
	case status >= 500, status == http.StatusUnauthorized, status == http.StatusRequestTimeout,
		status == http.StatusTooManyRequests, w.overflow:
		return nil
	}
	return &kura.StoredResponse{Status: status, Header: w.header, Body: w.body.Bytes()}
}
