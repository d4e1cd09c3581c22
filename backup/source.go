package backup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/kura-dev/kura/sqldb"
)

// Source says which database a backup was taken of, and Identify which
// database a URL names: the identity kura keeps in the database, its
// engine, its server's address and its name. It never holds the URL, the
// user or the password.
type Source struct {
	// ID is the identity kura's migration 7 stores in the table
	// kura_database: 32 hex digits, made once per database and carried by
	// its backups into the databases restored from them. Empty when the
	// database has none (not migrated since kura recorded identities).
	ID string `json:"id"`
	// Engine is sqlite, postgres or mysql.
	Engine string `json:"engine"`
	// Address is the server's host:port (or its socket); for SQLite, the
	// name of the machine that holds the file.
	Address string `json:"address"`
	// Database is the database's name; for SQLite, the file's absolute
	// path.
	Database string `json:"database"`
}

// String describes s in one line, such as
// "postgres 127.0.0.1:5432 database kura, identity 3f2a9c1e…".
func (s Source) String() string {
	if s.Engine == "" {
		return "unknown (the backup was taken by a kura that did not record its source)"
	}
	where := s.Where()
	if s.ID == "" {
		return where + ", no identity"
	}
	return where + ", identity " + s.ID
}

// Where names the database without its identity, such as
// "postgres 127.0.0.1:5432 database kura" or
// "sqlite file /var/lib/kura/kura.db on web-1".
func (s Source) Where() string {
	if s.Engine == string(sqldb.SQLite) {
		return "sqlite file " + s.Database + " on " + s.Address
	}
	return s.Engine + " " + s.Address + " database " + s.Database
}

// SourceOf returns the Source of the database at rawURL as the URL names
// it, without connecting: its engine, address and name, and no ID. It is
// what a command prints to say which database it is about to change.
func SourceOf(rawURL string) (Source, error) { return sourceOf(rawURL) }

// sameServer says whether s and o name the same database by engine,
// address and name: what a restore compares when one side has no
// identity.
func (s Source) sameServer(o Source) bool {
	return s.Engine != "" && s.Engine == o.Engine && strings.EqualFold(s.Address, o.Address) && s.Database == o.Database
}

// sourceOf is the Source of the database at rawURL, without its ID.
func sourceOf(rawURL string) (Source, error) {
	d, err := sqldb.ParseDialect(rawURL)
	if err != nil {
		return Source{}, err
	}
	s := Source{Engine: string(d)}
	switch d {
	case sqldb.SQLite:
		if s.Database, err = sqldb.SQLitePath(rawURL); err != nil {
			return Source{}, err
		}
		if s.Address, err = os.Hostname(); err != nil {
			s.Address = "localhost"
		}
	case sqldb.Postgres:
		cc, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return Source{}, errors.New("the database URL cannot be parsed")
		}
		s.Address = pgAddress(cc.Host, cc.Port)
		s.Database = cc.Database
		if s.Database == "" {
			s.Database = cc.User // the server's default
		}
	case sqldb.MySQL:
		mc, err := sqldb.MySQLConfig(rawURL)
		if err != nil {
			return Source{}, err
		}
		s.Address = strings.ToLower(mc.Addr)
		if mc.Net == "unix" {
			s.Address = mc.Addr
		}
		s.Database = mc.DBName
	}
	return s, nil
}

func pgAddress(host string, port uint16) string {
	if strings.HasPrefix(host, "/") { // a socket's folder
		return host + "/.s.PGSQL." + strconv.Itoa(int(port))
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(int(port)))
}

// Identify returns the Source of the database backups are taken of (the
// database at cfg.URL): its identity, engine, address and name. A
// database without an identity yet has an empty ID.
func Identify(ctx context.Context, cfg Config) (Source, error) {
	cfg, eng, err := prepare(cfg, nil)
	if err != nil {
		return Source{}, err
	}
	s, err := sourceOf(cfg.URL)
	if err != nil {
		return Source{}, err
	}
	if sq, ok := eng.(*sqliteEngine); ok {
		if _, err := sq.source(); err != nil {
			return Source{}, err
		}
	}
	db, closeDB, err := eng.open(ctx, cfg.URL)
	if err != nil {
		return Source{}, fmt.Errorf("identify the database: %w", err)
	}
	defer closeDB()
	names, err := tableNames(ctx, db, eng.dialect())
	if err != nil {
		return Source{}, fmt.Errorf("identify the database: %w", err)
	}
	if s.ID, err = readIdentity(ctx, db, names); err != nil {
		return Source{}, err
	}
	return s, nil
}

// readIdentity reads the identity of the database q reads, whose tables
// are names: "" when it has none.
func readIdentity(ctx context.Context, q querier, names []string) (string, error) {
	if !contains(names, sqldb.DatabaseTable) {
		return "", nil
	}
	id, err := sqldb.ReadIdentity(ctx, q)
	if errors.Is(err, sqldb.ErrNoIdentity) {
		return "", nil
	}
	return id, err
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
