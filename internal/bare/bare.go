// Package bare is the baseline of kura's benchmarks: GET /api/users/{id}
// as a careful engineer writes it by hand with the same driver as kura and
// nothing else: no middleware, no service layer, no error mapping, and a
// pool of its own, tuned for the one query. On SQLite and MySQL the query
// is a statement prepared once per connection (database/sql's *sql.Stmt);
// on PostgreSQL it runs on a native pgxpool, whose connections cache the
// prepared statement. The body is written with encoding/json. bench/bare
// serves it for the load script, and the in-process benchmarks call it
// directly.
package bare

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// PoolSize is the most connections a server pool opens: kura's default
// DB_POOL_SIZE + DB_MAX_OVERFLOW, so both sides may use as many.
const PoolSize = 15

// Server is the baseline over one database.
type Server struct {
	h     http.Handler
	close func()
}

// Handler returns the baseline handler.
func (s *Server) Handler() http.Handler { return s.h }

// Close closes the baseline's pool.
func (s *Server) Close() { s.close() }

type user struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	CreatedAt time.Time `json:"created_at"`
}

// Open opens the database a kura DATABASE_URL names (a SQLite path or
// sqlite: URL, postgres://, mysql://) with a pool of its own.
func Open(ctx context.Context, rawURL string) (*Server, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL)
	case strings.HasPrefix(rawURL, "mysql://"):
		return openMySQL(ctx, rawURL)
	}
	return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//"))
}

func openPostgres(ctx context.Context, rawURL string) (*Server, error) {
	pc, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	pc.MaxConns = PoolSize
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	get := func(ctx context.Context, id int64, u *user) error {
		err := pool.QueryRow(ctx, "SELECT id, username, created_at FROM users WHERE id = $1", id).Scan(&u.ID, &u.Username, &u.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	}
	return &Server{h: handler(get), close: pool.Close}, nil
}

func openSQLite(ctx context.Context, path string) (*Server, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)&_time_format=sqlite")
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.NumCPU()) // as many readers as kura's reader pool
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return prepared(ctx, db, "SELECT id, username, created_at FROM users WHERE id = ?")
}

func openMySQL(ctx context.Context, rawURL string) (*Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	mc := mysql.NewConfig()
	mc.User = u.User.Username()
	mc.Passwd, _ = u.User.Password()
	mc.Net, mc.Addr = "tcp", u.Host
	mc.DBName = strings.TrimPrefix(u.Path, "/")
	mc.ParseTime = true
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(PoolSize)
	db.SetMaxIdleConns(PoolSize)
	return prepared(ctx, db, "SELECT id, username, created_at FROM users WHERE id = ?")
}

// prepared serves the query as one statement prepared per connection.
func prepared(ctx context.Context, db *sql.DB, q string) (*Server, error) {
	stmt, err := db.PrepareContext(ctx, q)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	get := func(ctx context.Context, id int64, u *user) error {
		return stmt.QueryRowContext(ctx, id).Scan(&u.ID, &u.Username, &u.CreatedAt)
	}
	return &Server{h: handler(get), close: func() { stmt.Close(); db.Close() }}, nil
}

func handler(get func(context.Context, int64, *user) error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		var u user
		err = get(r.Context(), id, &u)
		if errors.Is(err, sql.ErrNoRows) {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		u.CreatedAt = u.CreatedAt.UTC()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u)
	})
	return mux
}
