package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/kura-dev/kura"
)

// This file is what an application built on kura uses to add its own
// routes to the server: they run behind the same middleware (request id,
// access log, panic recovery, the OnRequest hook), authenticate with the
// same bearer tokens and answer errors in the same JSON shape as kura's.

// HandlerFunc is an application's handler. It writes its response and
// returns nil, or returns an error, which the server answers in the JSON
// error shape: a *kura.Error's code picks the status (see ErrorStatus) and
// its message is shown; any other error is a 500 whose cause is logged and
// never shown. A handler that has started writing must not return an
// error.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adds a route for anyone, pattern being "METHOD /path" as
// http.ServeMux reads it (GET also serves HEAD). Add routes before Open.
// A pattern that clashes with another route panics, as ServeMux does.
// A write (any method but GET, HEAD and OPTIONS) is limited by what
// verifies: a token that verifies counts against RateLimits.Token (and
// its user is in the request's context, kura.UserFromContext), anything
// else (no token, a malformed, wrong or expired one) against the
// address's RateLimits.AnonWrite, and h then runs as for an anonymous
// caller. A write's context also carries the password guard
// (kura.WithPasswordGuard) that the stores check passwords through.
func (s *Server) Handle(pattern string, h HandlerFunc) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, err := s.anonymousWrite(r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// callerKey carries, in the context of a write to a Handle route, the
// outcome of verifying its token, so that Caller does not verify (and
// count) it twice.
type callerKey struct{}

type callerResult struct {
	u   *kura.User
	err error
}

// anonymousWrite limits a write to a route for anyone by what verifies,
// and returns the request to hand on: its context carries the password
// guard, the verified caller, if any, and the outcome for Caller. A
// read passes unchanged. Errors: ERATELIMITED, and the session store's
// other than EUNAUTHORIZED.
func (s *Server) anonymousWrite(r *http.Request) (*http.Request, error) {
	if isRead(r.Method) {
		return r, nil
	}
	ctx := withPasswordGuard(r.Context(), s.passwordGuard(r))
	if _, present, _ := bearerToken(r); !present {
		return r.WithContext(ctx), s.limitAnon(r)
	}
	u, err := s.optionalUser(r) // counts the token's limit, or the address's
	switch {
	case err == nil:
		ctx = kura.NewContextWithUser(ctx, u)
	case kura.ErrorCode(err) != kura.EUNAUTHORIZED:
		return r, err
	}
	return r.WithContext(context.WithValue(ctx, callerKey{}, &callerResult{u, err})), nil
}

// HandleAuth adds a route that requires a valid bearer token: the caller
// is in the request's context (kura.UserFromContext), and a request
// without a valid token gets 401 before h runs, counted against its
// address's anonymous limit (RateLimits.AnonRead or AnonWrite). A write's
// context also carries the password guard (kura.WithPasswordGuard).
func (s *Server) HandleAuth(pattern string, h HandlerFunc) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authenticate(r)
		if err == nil {
			ctx := kura.NewContextWithUser(r.Context(), u)
			if !isRead(r.Method) {
				ctx = withPasswordGuard(ctx, s.passwordGuard(r))
			}
			err = h(w, r.WithContext(ctx))
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// Caller returns the user of the request's bearer token, or nil for a
// request without an Authorization header. A header that is present but
// not a valid token is EUNAUTHORIZED (then ERATELIMITED once the
// address's anonymous limit is spent). Routes added with HandleAuth find
// the caller with kura.UserFromContext instead.
func (s *Server) Caller(r *http.Request) (*kura.User, error) {
	if c, _ := r.Context().Value(callerKey{}).(*callerResult); c != nil {
		return c.u, c.err
	}
	return s.optionalUser(r)
}

// ReadJSON decodes the request body, one JSON object of at most
// Config.MaxBodyBytes without unknown fields or trailing data, into dst.
// Errors: ETOOLARGE, EBADREQUEST (naming the field of an unknown field or
// a value of the wrong type), EINVALID (naming the top-level field of a
// string that is not valid UTF-8 as sent, such as a lone surrogate escape
// \udc80, which encoding/json would quietly turn into U+FFFD).
func (s *Server) ReadJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	return readJSON(w, r, s.cfg.MaxBodyBytes, dst)
}

// WriteJSON answers with status and v encoded as JSON.
func (s *Server) WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	s.writeJSON(w, r, status, v)
}

// WriteError answers with err in the JSON error shape, as a HandlerFunc's
// returned error is answered.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeError(w, r, err)
}

// PathID returns the path value name of the route as a positive integer
// id. Anything else (a word, zero, a number too large) is ENOTFOUND with
// the message "<what> not found.", since no such thing can exist.
func PathID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	if v == "" || v[0] < '0' || v[0] > '9' {
		return 0, kura.Errorf(kura.ENOTFOUND, "%s not found.", what)
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, kura.Errorf(kura.ENOTFOUND, "%s not found.", what)
	}
	return id, nil
}

// ListOptions reads the list parameters of a request, as kura's own lists
// take them: ?limit=&cursor= (keyset) or ?page=&per_page= (offset; page
// defaults to 1), sizes 1 to 100, default 20. Errors: EINVALID naming each
// bad parameter, or mixed modes.
func ListOptions(r *http.Request) (kura.ListOptions, error) {
	return parseListOptions(r.URL.Query())
}

// PageJSON returns the JSON body of a page of a list, each item shown
// through view: {"items": [...], "next_cursor": "..."} in keyset mode
// (next_cursor is null on the last page), or {"items", "page", "per_page",
// "total"} in offset mode.
func PageJSON[T, V any](p *kura.Page[T], view func(T) V) any {
	items := make([]V, len(p.Items))
	for i, it := range p.Items {
		items[i] = view(it)
	}
	if p.Page > 0 {
		return &offsetList[V]{Items: items, Page: p.Page, PerPage: p.PerPage, Total: p.Total}
	}
	body := &keysetList[V]{Items: items}
	if p.NextCursor != "" {
		next := p.NextCursor
		body.NextCursor = &next
	}
	return body
}

// RequestInfo describes a request that has been answered, for
// Config.OnRequest: a metrics hook. Route is the pattern that served it
// (such as "GET /api/users/{id}"), never the raw path, so it is a bounded
// label; it is "" for a request no route matched.
type RequestInfo struct {
	Method   string
	Route    string
	Status   int
	Bytes    int64
	Duration time.Duration
}
