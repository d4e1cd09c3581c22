package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/jobs"
)

// Prefix is the path the console is served under.
const Prefix = "/admin/"

// PageSize is the number of users, jobs or audit entries on one page.
const PageSize = 50

// CSP is the Content-Security-Policy of every console answer.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// Users is what the console reads of the users: store's Users and
// accounts' UserService satisfy it.
type Users interface {
	// ListUsers returns users newest first by keyset cursor.
	ListUsers(ctx context.Context, opt kura.ListOptions) (*kura.UserList, error)
	// FindUserByID returns one user. Errors: ENOTFOUND.
	FindUserByID(ctx context.Context, id int64) (*kura.User, error)
	// SearchUsers returns up to limit users whose email or username (by)
	// starts with prefix, after the key after, in the column's order.
	SearchUsers(ctx context.Context, by, prefix, after string, limit int) ([]*kura.User, error)
}

// Accounts are the admin's actions on accounts, each written to the audit
// log with who did it, in the change's own transaction.
type Accounts interface {
	// ChangeRole sets a user's role. Errors: ENOTFOUND, EINVALID,
	// ECONFLICT (the last admin).
	ChangeRole(ctx context.Context, by *kura.User, id int64, role kura.Role) (*kura.User, error)
	// EndSessions ends every session of a user and returns how many.
	// Errors: ENOTFOUND.
	EndSessions(ctx context.Context, by *kura.User, id int64) (int, error)
	// ListAudit returns the audit log newest first by keyset cursor.
	ListAudit(ctx context.Context, opt kura.ListOptions) (*kura.Page[*AuditEntry], error)
}

// AuditEntry is one administrative action as the console shows it.
type AuditEntry struct {
	At       time.Time
	Actor    string
	Action   string
	TargetID int64
	Detail   string
}

// Jobs is the job queue as the console reads and acts on it: a
// *jobs.Client satisfies it.
type Jobs interface {
	Counts(ctx context.Context) (jobs.Counts, error)
	Get(ctx context.Context, id int64) (*jobs.Row, error)
	List(ctx context.Context, o jobs.ListOptions) ([]*jobs.Row, error)
	Retry(ctx context.Context, id int64) (*jobs.Row, error)
	Cancel(ctx context.Context, id int64) (*jobs.Row, error)
}

// Backup is one backup as the console lists it.
type Backup struct {
	Name     string
	Started  time.Time
	Size     int64
	Engine   string
	Rows     int64
	Verified string // "yes", "no" or "FAILED: why"
	VerifyAt time.Time
}

// Backups are the backups of the database the console serves.
type Backups interface {
	// List returns the backups, newest first.
	List(ctx context.Context) ([]Backup, error)
	// Take takes a backup now and returns its name.
	Take(ctx context.Context) (string, error)
	// Verify restores the backup called name into a scratch database and
	// compares it with its manifest. Errors: ENOTFOUND; a failed verify
	// is an error saying why.
	Verify(ctx context.Context, name string) error
	// Report returns the maintenance report, as text.
	Report(ctx context.Context) (string, error)
}

// Figure is one number of the overview, such as the pool's use.
type Figure struct {
	Group string // such as "Database pool"
	Name  string
	Value string
}

// Config configures the console. Server, Sessions and Users are
// required; a nil Accounts, Jobs or Backups leaves its actions or page out,
// saying so.
type Config struct {
	Server   *httpapi.Server     // its Login, Health and Mount
	Sessions kura.SessionService // Authenticate and Logout of the console's sessions
	Users    Users
	Accounts Accounts
	Jobs     Jobs
	Backups  Backups
	// Figures returns the overview's figures (pool use, cache hit rate,
	// requests); nil shows none.
	Figures func(ctx context.Context) []Figure
	// Secure sets the Secure attribute of the session cookie: set it
	// whenever the console is served off loopback (browsers send a Secure
	// cookie over HTTPS only).
	Secure bool
	// Logger receives internal errors; nil means slog.Default().
	Logger *slog.Logger
}

//go:embed assets
var assets embed.FS

// Console serves the admin console.
type Console struct {
	cfg   Config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns the console of cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Server == nil || cfg.Sessions == nil || cfg.Users == nil {
		return nil, errors.New("console: Server, Sessions and Users are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, pages: pages, mux: http.NewServeMux()}
	c.routes()
	return c, nil
}

// Mount mounts the console of cfg on cfg.Server at Prefix.
func Mount(cfg Config) error {
	c, err := New(cfg)
	if err != nil {
		return err
	}
	cfg.Server.Mount(Prefix, c)
	return nil
}

// ServeHTTP sets the security headers of every answer and routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// routes registers the console's pages and actions.
func (c *Console) routes() {
	static, _ := fs.Sub(assets, "assets/static")
	files := http.StripPrefix(Prefix+"static/", http.FileServerFS(static))
	c.mux.Handle("GET "+Prefix+"static/", publicCache(files))
	c.mux.HandleFunc("GET "+Prefix+"login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"login", c.sameOrigin(c.login))
	c.mux.HandleFunc("POST "+Prefix+"logout", c.action(c.logout))
	c.mux.HandleFunc("GET "+Prefix+"{$}", c.page(c.overview))
	c.mux.HandleFunc("GET "+Prefix+"users", c.page(c.users))
	c.mux.HandleFunc("GET "+Prefix+"users/{id}", c.page(c.user))
	c.mux.HandleFunc("POST "+Prefix+"users/{id}/role", c.action(c.changeRole))
	c.mux.HandleFunc("POST "+Prefix+"users/{id}/sessions", c.action(c.endSessions))
	c.mux.HandleFunc("GET "+Prefix+"audit", c.page(c.audit))
	c.mux.HandleFunc("GET "+Prefix+"jobs", c.page(c.jobs))
	c.mux.HandleFunc("POST "+Prefix+"jobs/{id}/retry", c.action(c.retryJob))
	c.mux.HandleFunc("POST "+Prefix+"jobs/{id}/cancel", c.action(c.cancelJob))
	c.mux.HandleFunc("GET "+Prefix+"backups", c.page(c.backups))
	c.mux.HandleFunc("POST "+Prefix+"backups", c.action(c.takeBackup))
	c.mux.HandleFunc("POST "+Prefix+"backups/{name}/verify", c.action(c.verifyBackup))
	c.mux.HandleFunc(Prefix, c.page(c.notFound))
}

// publicCache lets the embedded static files be cached for an hour.
func publicCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
