package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/ratelimit"
)

// Defaults applied by NewServer to the zero fields of a Config.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultHealthTimeout     = 2 * time.Second
	DefaultMaxBodyBytes      = 1 << 20 // 1 MiB
	DefaultMaxHeaderBytes    = 64 << 10
)

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Addr is the TCP address to listen on. "" means DefaultAddr
	// (loopback only); a port of 0, as in "127.0.0.1:0", picks a free port,
	// which Server.Addr reports after Open.
	Addr string

	// Users serves the /api/users routes. Required.
	Users kura.UserService
	// Sessions serves /api/auth and authenticates bearer tokens. Required.
	Sessions kura.SessionService
	// Stats serves GET /api/stats; nil leaves the route out (404).
	Stats kura.StatsService
	// Notifications serves GET /api/users/{id}/notifications; nil leaves
	// the route out (404).
	Notifications kura.NotificationService
	// Accounts serves the account flows by mail: email verification,
	// password reset and email change (see accountflows.go). Nil leaves
	// their routes out (404) and a user's PATCH of their own email
	// changes it at once, as an admin's always does.
	Accounts kura.AccountService
	// Admin serves account management for admins: role and disabled in
	// PATCH /api/users/{id}, an admin's DELETE /api/users/{id} (audited),
	// DELETE /api/users/{id}/sessions and GET /api/audit. Nil leaves the
	// two routes out (404) and refuses role and disabled (403).
	Admin kura.AdminService

	// Checks are run, concurrently, by GET /health. None means /health
	// reports only {"status":"healthy"}.
	Checks []HealthCheck

	// Notes are states GET /health reports after its checks, without
	// changing its status, such as whether backups are on time.
	Notes []HealthNote

	// OnRequest, if set, is called after every request is answered, with
	// its method, route pattern, status, size and duration: the hook a
	// metrics collector counts requests with. It must be fast and safe for
	// concurrent use.
	OnRequest func(RequestInfo)

	// Limiter counts the rate limits of RateLimits; nil means a
	// ratelimit.Local of this process. ratelimit.None turns every limit off
	// (benchmarks); a redislimit.Redis shares them between instances.
	Limiter ratelimit.Limiter
	// RateLimits are the limits applied; zero fields take their defaults.
	RateLimits RateLimits
	// TrustedProxies are the proxies (addresses and CIDR prefixes) whose
	// X-Forwarded-For is believed when rate limits find a request's
	// client; none means the socket's peer is the client (see ClientAddr).
	TrustedProxies []netip.Prefix

	// Logger receives the access log (info), failed health checks (warn),
	// internal errors and panics (error) and net/http's own errors (warn).
	// Nil means slog.Default().
	Logger *slog.Logger

	// ReadHeaderTimeout bounds reading a request's headers; zero means
	// DefaultReadHeaderTimeout (5s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request; zero means
	// DefaultReadTimeout (15s).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end
	// of the response; zero means DefaultWriteTimeout (30s).
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request; zero means DefaultIdleTimeout (120s).
	IdleTimeout time.Duration
	// HealthTimeout bounds each health check; zero means
	// DefaultHealthTimeout (2s).
	HealthTimeout time.Duration

	// MaxBodyBytes bounds a request body; larger bodies get 413. Zero means
	// DefaultMaxBodyBytes (1 MiB).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds a request's headers; zero means
	// DefaultMaxHeaderBytes (64 KiB).
	MaxHeaderBytes int

	// CORSOrigins are the origins (such as "https://app.example.com":
	// scheme, host and port, lower case, compared exactly), or patterns of
	// one label under a domain ("https://*.example.com"; see
	// ValidateOrigin), whose pages a browser lets call the API and read
	// its answers. None, the default, means no cross-origin access: no
	// CORS header is ever sent.
	CORSOrigins []string
	// CORSLoopback also allows, for development only, every origin of a
	// page served from this machine over http on any port:
	// http://localhost:PORT, http://127.0.0.1:PORT and http://[::1]:PORT
	// (a frontend's dev server, such as Vite's on :5173). False, the
	// default, allows none of them unless CORSOrigins lists it.
	CORSLoopback bool

	// Idempotency keeps the answers of writes sent with an Idempotency-Key
	// header (see IdempotencyKeyHeader): a retry with the same key, on
	// any instance sharing the store, gets the first answer instead of a
	// second write. It covers every POST, PUT, PATCH and DELETE route,
	// an application's (Handle, HandleAuth) included, but the login, the
	// logout and IdempotencyExcept. Nil ignores the header.
	Idempotency kura.IdempotencyStore
	// IdempotencyWait bounds how long a request waits for one with the
	// same key that is still running, before 409 in_progress with
	// Retry-After; keep it under WriteTimeout. Zero means
	// DefaultIdempotencyWait (10s).
	IdempotencyWait time.Duration
	// IdempotencyExcept are an application's write routes, by the pattern
	// given to Handle or HandleAuth, that take no Idempotency-Key (the
	// header is ignored): those whose answer is a secret, such as a token
	// it issues, which the store must not keep.
	IdempotencyExcept []string

	// Index, if set, is answered to GET /: the service's name and links
	// (and a version, only if its Version is set), so that a person who
	// opens the base URL learns where to go.
	// Nil leaves / to the catch-all (404), for an application that serves
	// its own page there.
	Index *Index
}

// WithDefaults returns c with every zero field set to its default: the
// one place the defaults above are applied.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Limiter == nil {
		c.Limiter = ratelimit.NewLocal(ratelimit.LocalConfig{})
	}
	c.RateLimits = c.RateLimits.withDefaults()
	setDefault(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.HealthTimeout, DefaultHealthTimeout)
	setDefault(&c.IdempotencyWait, DefaultIdempotencyWait)
	setDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	setDefault(&c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	return c
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// Validate reports what is wrong with c, naming each field: Users and
// Sessions are required, health checks need a Check and a unique Name
// other than "status", and no timeout or limit may be negative.
func (c Config) Validate() error {
	var errs []error
	if c.Users == nil || c.Sessions == nil {
		errs = append(errs, errors.New("Users and Sessions are required"))
	}
	seen := map[string]bool{"status": true}
	for _, hc := range c.Checks {
		if hc.Name == "" || hc.Check == nil || seen[hc.Name] {
			errs = append(errs, fmt.Errorf("Checks: each needs a Check and a unique Name other than \"status\" (got %q)", hc.Name))
		}
		seen[hc.Name] = true
	}
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": c.ReadHeaderTimeout, "ReadTimeout": c.ReadTimeout, "WriteTimeout": c.WriteTimeout,
		"IdleTimeout": c.IdleTimeout, "HealthTimeout": c.HealthTimeout, "IdempotencyWait": c.IdempotencyWait,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s: %s is negative; want a positive duration, or 0 for the default", name, d))
		}
	}
	if c.RateLimits.MaxLoginDelay < 0 {
		errs = append(errs, errors.New("RateLimits.MaxLoginDelay must not be negative"))
	}
	if c.MaxBodyBytes < 0 || c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("MaxBodyBytes and MaxHeaderBytes must not be negative"))
	}
	for _, o := range c.CORSOrigins {
		if err := validateOrigin(o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Server is the HTTP server of the kura API. Create one with NewServer,
// then Open it and, at the end, Close it.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	users    kura.UserService
	public   kura.PublicUserFinder // users, when it offers the public view on its own; else nil
	session  kura.SessionService
	limits   RateLimits
	mux      *http.ServeMux
	methods  []string // every method some route accepts, for Allow
	patterns []string // every route's pattern, in order (Routes)
	mounts   []string // the prefixes of Mount
	omitted  []string // kura's optional operations left out by the Config

	openapi     openAPIDoc // kura's description and the application's (AddOpenAPI)
	openapiOnce sync.Once
	openapiBody []byte // what GET /openapi.json answers, made once
	handler     http.Handler
	srv         *http.Server

	mu       sync.Mutex
	ln       net.Listener
	serveErr chan error // receives Serve's result once Open has run

	inFlight atomic.Int64 // requests being served, counted by accessLog
	readOnly atomic.Bool  // writes are refused (SetReadOnly)
	writes   atomic.Int64 // writes being served, counted by writeGate
	drain    drain        // set by Drain
}

// InFlight returns the number of requests being served now: a gauge for a
// metrics collector, read without a lock.
func (s *Server) InFlight() int64 { return s.inFlight.Load() }

// NewServer returns a Server for cfg, its routes registered, not yet
// listening. It panics if cfg is not valid (see Config.Validate): that is
// a programming error. Add an application's routes with Handle and
// HandleAuth before Open.
func NewServer(cfg Config) *Server {
	if err := cfg.Validate(); err != nil {
		panic("httpapi: " + err.Error())
	}
	cfg = cfg.WithDefaults()
	s := &Server{
		cfg:     cfg,
		logger:  cfg.Logger,
		users:   cfg.Users,
		session: cfg.Sessions,
		limits:  cfg.RateLimits,
		mux:     http.NewServeMux(),
		openapi: mustParseDoc(openAPIJSON),
	}
	s.public, _ = cfg.Users.(kura.PublicUserFinder)
	if cfg.Index != nil {
		s.cfg.Index = cfg.Index.withOpenAPI()
	}
	s.routes()
	s.handler = s.drainAware(s.requestID(s.accessLog(s.recoverPanics(s.cors(s.writeGate(s.mux))))))
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the complete handler: middleware and routes. Tests and
// benchmarks can drive it without a listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Open listens on the configured address and serves in a goroutine. It
// returns once the listener is ready, so Addr and URL are valid.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	if err := s.Serve(ln); err != nil {
		ln.Close()
		return err
	}
	return nil
}

// Serve is Open on a listener the caller has bound already, such as one
// bound before a slow start (migrations) so that a taken port fails at
// once: connections made meanwhile wait in its backlog and are served
// from now on. Config.Addr is then unused. Close closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("httpapi: server already open")
	}
	s.ln = ln
	serveErr := make(chan error, 1)
	s.serveErr = serveErr
	go func() { serveErr <- s.srv.Serve(ln) }()
	s.logger.Info("http server listening", slog.String("addr", ln.Addr().String()))
	return nil
}

// Addr returns the address the server listens on, or nil before Open.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL returns the base URL of the server, such as "http://127.0.0.1:41234",
// or "" before Open. A wildcard host is reported as 127.0.0.1.
func (s *Server) URL() string { return URLOf(s.Addr()) }

// URLOf returns the base URL of a server listening on addr, as URL does,
// or "" for an address that is not TCP.
func URLOf(addr net.Addr) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	host := "127.0.0.1"
	if !a.IP.IsUnspecified() {
		host = a.IP.String()
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
}

// Close shuts the server down gracefully: it stops accepting connections,
// closes idle ones and waits for in-flight requests to finish. When ctx
// ends first, it closes every remaining connection and returns ctx's
// error. Close before Open, or a second Close, returns nil.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	serveErr := s.serveErr
	s.serveErr = nil
	s.mu.Unlock()
	if serveErr == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close() // force: the drain deadline has passed
	}
	if e := <-serveErr; e != nil && !errors.Is(e, http.ErrServerClosed) {
		s.logger.Error("http server stopped", slog.Any("err", e))
		if err == nil {
			err = e
		}
	}
	return err
}
