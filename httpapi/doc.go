// Package httpapi is the HTTP server of kura: the JSON API over a
// kura.UserService and a kura.SessionService (and, optionally, a
// kura.StatsService and a kura.NotificationService), health probes, and the
// middleware every request passes (request id, access log, panic recovery).
//
// # Starting a server
//
//	srv := httpapi.NewServer(httpapi.Config{
//		Addr:     "127.0.0.1:8080",
//		Users:    users,    // a kura.UserService, such as sqldb's
//		Sessions: sessions, // a kura.SessionService
//		Checks:   []httpapi.HealthCheck{httpapi.PingCheck("database", db)},
//		Logger:   logger,
//	})
//	if err := srv.Open(); err != nil {
//		return err
//	}
//	defer srv.Close(shutdownCtx) // drains in-flight requests until the deadline
//
// Tests and benchmarks can skip the listener and call srv.Handler() directly,
// or Open on "127.0.0.1:0" and use srv.URL().
//
// # An application's own routes
//
// An application built on kura adds its routes to the same server before
// Open, and gets kura's middleware (request id, access log, panic
// recovery, the Config.OnRequest metrics hook), its bearer authentication,
// its JSON error shape and its graceful Close:
//
//	srv.HandleAuth("POST /api/notes", func(w http.ResponseWriter, r *http.Request) error {
//		var in noteRequest
//		if err := srv.ReadJSON(w, r, &in); err != nil {
//			return err // 400 or 413 in the error shape
//		}
//		n, err := notes.CreateNote(r.Context(), in) // the caller: kura.UserFromContext
//		if err != nil {
//			return err // a *kura.Error's code picks the status; anything else is a logged 500
//		}
//		srv.WriteJSON(w, r, http.StatusCreated, n)
//		return nil
//	})
//
// Handle adds a route for anyone (Caller finds an optional signed-in
// user); PathID reads a numeric path value, ListOptions the list
// parameters, and PageJSON writes a kura.Page in the same two shapes as
// kura's own lists. ExampleServer_HandleAuth runs one; examples/notes is
// a whole application.
//
// # Routes
//
//	POST   /api/users          register; 201, private view, Location
//	POST   /api/auth/login     {login, password} -> {token, expires_at, user}
//	POST   /api/auth/logout    bearer; 204
//	GET    /api/users/me       bearer; private view
//	GET    /api/users/{id}     public view; private to the user and admins
//	PATCH  /api/users/{id}     bearer, self or admin; any of email, username, password;
//	                           one's own email or password also needs current_password
//	                           (422 naming it); a new password ends the other sessions
//	DELETE /api/users/{id}     bearer, self or admin; 204
//	GET    /api/users          bearer; ?limit=&cursor= or ?page=&per_page=
//	GET    /api/users/{id}/notifications
//	                           bearer, self or admin; the same list parameters
//	                           (only with Config.Notifications)
//	GET    /health             every HealthCheck; 200, or 503 with Retry-After
//	GET    /health/live        200 while the process serves
//
// A user's public view is {id, username, created_at}; the private view adds
// email, role and updated_at. Timestamps are RFC 3339 in UTC, with
// fractional seconds when the store keeps them; ids are JSON numbers. An
// {id} that is not a positive integer is 404.
//
// A notification is {id, kind, message, created_at}.
//
// Keyset lists answer {"items": [...], "next_cursor": "..."}, with
// next_cursor always present and null on the last page. Offset lists
// (selected by page or per_page; page defaults to 1) answer {"items",
// "page", "per_page", "total"}. Sizes are 1 to 100, default 20; mixing the
// two modes is 422.
//
// # Errors
//
// Every error, including unknown routes (404) and wrong methods (405, with
// Allow), has the shape
//
//	{"error": {"code": "invalid", "message": "...", "fields": {"email": "..."}}}
//
// with fields omitted when empty. Codes map to statuses in one table (see
// ErrorStatus): invalid 422, bad_request 400, unauthorized 401 (with
// WWW-Authenticate: Bearer), forbidden 403, not_found 404, conflict 409,
// too_large 413, rate_limited 429 and unavailable 503 (both with
// Retry-After), internal 500. An internal error's cause is logged at
// error, never returned; an unavailable one's (a database lost mid-query)
// at warn, unless it is a busy pool shedding load (kura.ErrBusy).
//
// GET /health runs every HealthCheck at once, each within HealthTimeout,
// and maps each to a word: "connected"; "unreachable" when a required
// check fails; "busy" when it fails with kura.ErrBusy (sqldb's Ping says so
// at once when every connection is taken and calls wait, instead of
// queueing behind them until the timeout); "degraded" for an optional one.
// Unreachable or busy makes it 503 with Retry-After: either way a request
// sent here now would wait and may end in a 503, so a load balancer should
// send it elsewhere for a while, and the word tells the two apart.
//
// Request bodies must be one JSON object of at most Config.MaxBodyBytes,
// without unknown fields or trailing data. The Content-Type header is not
// checked: the API authenticates with bearer tokens only, never cookies, so
// accepting any type that parses as JSON opens no cross-site hole.
//
// An oversized body gets its 413 in that shape even from a client that
// sends the whole body before reading (no Expect: 100-continue): the
// answer is written with its length and flushed, then the rest of the body,
// up to 16 MiB and within ReadTimeout, is read and discarded, so the client
// can finish writing and read it instead of meeting a connection reset. A
// larger body, or one the client waits to send, is not read, and the
// connection closes after the answer.
//
// # Caching
//
// Every JSON response, errors included, carries Cache-Control: no-store
// unless its handler set a Cache-Control of its own: responses hold
// private views, tokens, lists and figures that a browser or a proxy must
// not keep. The one exception is the public view of GET /api/users/{id},
// which says no-cache: nothing in it is private, but a renamed or deleted
// user must not be shown from a cache without asking. An application's
// routes written with WriteJSON get the same default.
//
// # Cross-origin requests
//
// CORS is off by default: no response carries a CORS header, so a browser
// lets no other site's page read the API's answers. Config.CORSOrigins
// lists the origins allowed, compared exactly ("https://app.example.com",
// no wildcard). A request from one of them gets
// Access-Control-Allow-Origin echoing it (and Expose-Headers Location,
// Retry-After, X-Request-Id); a preflight (OPTIONS with
// Access-Control-Request-Method) gets 204 with Allow-Methods (the path's),
// Allow-Headers "Authorization, Content-Type" and Max-Age (CORSMaxAge).
// Every response then says Vary: Origin. Another origin gets no CORS
// header, and its preflight is the 405 it would be without CORS.
// Credentials are never allowed, since the API takes bearer tokens, never
// cookies.
//
// # Rate limits
//
// Config.Limiter counts, per key, the limits of Config.RateLimits, each
// keyed on what was verified, never on what a request merely carries:
// logins per client address (default 10 in 3 minutes, Rails 8's);
// registrations, whatever the request carries, and every other write not
// authenticated by a token that verifies, per client address (20 an
// hour); anonymous reads of a user and reads whose token does not verify,
// per client address (600 an hour); every request of a verified session
// token (600 a minute). A refused request is 429 rate_limited with
// Retry-After, the seconds until it would be allowed.
//
// Password checks are limited per account (RateLimits.LoginFailures, 10
// in 15 minutes, from any address): the stores resolve a login to its
// account and call the password guard that the server puts in the
// request's context (kura.WithPasswordGuard) right before each
// verification, for a login and for a change confirmed with
// current_password alike, and for an unknown login as for a known one.
// Each check takes its event first; past the allowance it waits for the
// account's next turn when that is at most MaxLoginDelay (3 s) away, and
// is refused otherwise, so parallel guesses cannot multiply the rate. An
// address that logged into the account within KnownAddressFor (30 days)
// has an allowance of its own for it, so that no one can keep the owner
// out by spending the account's. The client address is the socket's
// peer, or behind Config.TrustedProxies the rightmost X-Forwarded-For
// address that is not a trusted proxy (ClientAddr), an IPv6 address
// standing for its /64. The limiter is in process by default
// (ratelimit.Local); package ratelimit/redislimit shares it between
// instances through Redis.
//
// # Read-only mode
//
// Server.SetReadOnly(ctx, true) makes every write (any method but GET,
// HEAD and OPTIONS, on kura's routes and an application's) answer 503
// read_only with Retry-After: 5, and returns once the writes under way
// have been answered; reads go on, and /health is unchanged. The check is
// one atomic load per write. kura serve turns it on and off as the
// database's read-only switch says (sqldb.DB.EnterReadOnly).
//
// # Logging
//
// One info line per request with method, route pattern, path (never the
// query string), status, duration, bytes and request id. Headers and bodies
// are never logged.
package httpapi
