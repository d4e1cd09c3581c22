package sqldb

import (
	"fmt"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// transport describes how a connection reaches its server, for the TLS
// policy: which host, whether it is local (loopback or unix socket), and
// whether the connection is always encrypted.
type transport struct {
	host      string
	local     bool
	encrypted bool
	fix       string // how to encrypt, for the refusal message
}

// checkTransport enforces the TLS policy: a connection to a server that is
// not local must be encrypted, unless AllowInsecure is set, in which case
// one warning is logged.
func (db *DB) checkTransport(t transport) error {
	if t.local || t.encrypted {
		return nil
	}
	if !db.cfg.AllowInsecure {
		return fmt.Errorf("database host %s is not local and the connection is not encrypted: %s in DATABASE_URL, or KURA_DB_ALLOW_INSECURE=true to opt out", t.host, t.fix)
	}
	db.log.Warn("database connection is not encrypted (KURA_DB_ALLOW_INSECURE=true)", "host", t.host)
	return nil
}

// postgresTransport reads the policy facts from a parsed pgx config, which
// already reflects sslmode (from the URL or PGSSLMODE), host= parameters and
// every fallback host: sslmode=prefer or allow keeps a plain-text fallback,
// so only require, verify-ca and verify-full count as encrypted.
func postgresTransport(cc *pgx.ConnConfig) transport {
	t := transport{
		host:      cc.Host,
		local:     isLocalHost(cc.Host),
		encrypted: cc.TLSConfig != nil,
		fix:       "set sslmode=verify-full (recommended) or sslmode=require",
	}
	for _, fb := range cc.Fallbacks {
		if !isLocalHost(fb.Host) {
			t.local = false
			if isLocalHost(t.host) {
				t.host = fb.Host
			}
		}
		if fb.TLSConfig == nil {
			t.encrypted = false
		}
	}
	return t
}

// mysqlTransport reads the policy facts from a MySQL config: tls=true,
// skip-verify or a registered custom config count as encrypted;
// tls=preferred (or allowFallbackToPlaintext) may fall back to plain text
// and does not.
func mysqlTransport(mc *mysql.Config) transport {
	host := mc.Addr
	if h, _, err := net.SplitHostPort(mc.Addr); err == nil {
		host = h
	}
	tls := strings.ToLower(mc.TLSConfig)
	return transport{
		host:  host,
		local: mc.Net == "unix" || isLocalHost(host),
		encrypted: !mc.AllowFallbackToPlaintext && tls != "preferred" &&
			(mc.TLS != nil || (tls != "" && tls != "false")),
		fix: "set tls=true",
	}
}

// isLocalHost reports whether host is reached without leaving the machine
// and without asking DNS: a unix socket path, "localhost" exactly (which
// resolvers answer from the hosts file), or a literal loopback address
// (127.0.0.0/8, ::1). Every other name needs TLS, including "localhost."
// (a rooted name, which a resolver may send to DNS), "LOCALHOST",
// "localhost.localdomain" and names such as "127.0.0.1.nip.io" that DNS
// answers with a loopback address: whoever controls the answer or the
// hosts file would receive the password in clear.
func isLocalHost(host string) bool {
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") {
		return true
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}
