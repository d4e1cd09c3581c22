package sqldb

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// Transport says how the connections of a database URL reach the server,
// for an audit such as kura doctor: the host, whether it is local (a
// socket, "localhost" or a literal loopback address, as the TLS rule of
// Open counts them), whether every connection is encrypted, and whether
// the server's certificate and name are checked too.
type Transport struct {
	Host      string
	Local     bool
	Encrypted bool   // no connection falls back to plain text
	Verified  bool   // encrypted, and the certificate and host name are checked
	Fix       string // the URL setting that encrypts, such as "sslmode=verify-full"
}

// URLTransport returns the Transport of rawURL. A SQLite URL is a local
// file: Local, with nothing to encrypt.
func URLTransport(rawURL string) (Transport, error) {
	d, err := ParseDialect(rawURL)
	if err != nil {
		return Transport{}, err
	}
	if err := CheckURL(rawURL); err != nil {
		return Transport{}, err
	}
	switch d {
	case Postgres:
		cc, err := pgx.ParseConfig(rawURL)
		if err != nil {
			return Transport{}, err
		}
		t := postgresTransport(cc)
		verified := t.encrypted && !cc.TLSConfig.InsecureSkipVerify
		for _, fb := range cc.Fallbacks {
			verified = verified && fb.TLSConfig != nil && !fb.TLSConfig.InsecureSkipVerify
		}
		return Transport{Host: t.host, Local: t.local, Encrypted: t.encrypted, Verified: verified, Fix: "sslmode=verify-full"}, nil
	case MySQL:
		mc, err := mysqlConfig(rawURL)
		if err != nil {
			return Transport{}, err
		}
		t := mysqlTransport(mc)
		verified := t.encrypted && !strings.EqualFold(mc.TLSConfig, "skip-verify") && (mc.TLS == nil || !mc.TLS.InsecureSkipVerify)
		return Transport{Host: t.host, Local: t.local, Encrypted: t.encrypted, Verified: verified, Fix: "tls=true"}, nil
	}
	return Transport{Host: "localhost", Local: true}, nil
}

// SQLitePath returns the absolute path of the file a SQLite URL (or bare
// path) names, as Open reads it.
func SQLitePath(rawURL string) (string, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	return sqlitePath(rawURL)
}
