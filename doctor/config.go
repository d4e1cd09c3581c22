package doctor

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
)

// secretVariables returns the names of the variables of e that hold a
// secret: a password in a URL, DB_PASSWORD, KURA_METRICS_TOKEN.
func (e *Env) secretVariables() []string {
	var names []string
	for _, n := range []string{"DATABASE_URL", "KURA_MIGRATE_DATABASE_URL", "REDIS_URL", "DATABASE_REPLICA_URLS"} {
		v := e.Environ[n]
		if e.source(n) != "the environment" {
			v = e.DotEnv[n]
		}
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				names = append(names, n)
			}
		}
	}
	for _, n := range []string{"DB_PASSWORD", "KURA_METRICS_TOKEN"} {
		if e.source(n) != "" {
			names = append(names, n)
		}
	}
	return names
}

// checkSecrets: the secrets come from the environment or a .env file that
// git does not track, never from a committed file.
func checkSecrets(_ context.Context, e *Env) Result {
	names := e.secretVariables()
	if len(names) == 0 {
		return ok("no secret is set (no database password, Redis password or metrics token)")
	}
	var fromFile []string
	for _, n := range names {
		if e.source(n) != "the environment" {
			fromFile = append(fromFile, n)
		}
	}
	if len(fromFile) == 0 {
		return ok("secrets from the environment: %s", strings.Join(names, ", "))
	}
	if st, err := e.tracked(e.EnvFile); err == nil && st == GitTracked {
		return fail("git rm --cached "+e.EnvFile+", add it to .gitignore, and change the secrets it held: they are in the repository's history",
			"secrets in %s, a file git tracks: %s", e.EnvFile, strings.Join(fromFile, ", "))
	}
	return ok("secrets from %s, which git does not track: %s; the rest from the environment", e.EnvFile, strings.Join(fromFile, ", "))
}

// checkDatabaseTLS: a database off loopback is reached over TLS that
// checks the server's certificate and name.
func checkDatabaseTLS(_ context.Context, e *Env) Result {
	urls := map[string]string{"DATABASE_URL": e.DatabaseURL}
	if e.MigrateDatabaseURL != "" {
		urls["KURA_MIGRATE_DATABASE_URL"] = e.MigrateDatabaseURL
	}
	worst := ok("")
	var msgs []string
	for _, name := range []string{"DATABASE_URL", "KURA_MIGRATE_DATABASE_URL"} {
		raw, set := urls[name]
		if !set {
			continue
		}
		r := urlTLS(name, raw)
		worst = worse(worst, r)
		msgs = append(msgs, r.Message)
	}
	worst.Message = strings.Join(msgs, "; ")
	return worst
}

// urlTLS is the finding of database-tls on the URL of the variable name.
func urlTLS(name, raw string) Result {
	t, err := sqldb.URLTransport(raw)
	d, _ := sqldb.ParseDialect(raw)
	switch {
	case err == nil && d == sqldb.SQLite:
		return ok("%s: SQLite, a local file with no network", name)
	case err != nil:
		return fail("correct "+name, "%s does not parse: %v", name, err)
	case t.Local:
		return ok("%s: %s is local, TLS is not needed", name, t.Host)
	case !t.Encrypted:
		return fail("set "+t.Fix+" in "+name+" (KURA_DB_ALLOW_INSECURE only hides this)", "%s reaches %s without TLS: its password and data cross the network in clear", name, t.Host)
	case !t.Verified:
		return warn("set "+t.Fix+" in "+name+", which checks the certificate and the host name", "%s reaches %s over TLS without checking the server's certificate and name", name, t.Host)
	}
	return ok("%s reaches %s over TLS, certificate and name checked", name, t.Host)
}

// checkRedis: a Redis off loopback has a password and TLS (rediss://).
func checkRedis(_ context.Context, e *Env) Result {
	if e.RedisURL == "" {
		return ok("no Redis")
	}
	u, err := url.Parse(e.RedisURL)
	if err != nil {
		return fail("correct REDIS_URL", "REDIS_URL does not parse")
	}
	if u.Scheme == "unix" || isLoopback(u.Hostname()) {
		return ok("Redis is local (%s)", cmpOr(u.Hostname(), "a socket"))
	}
	_, hasPassword := u.User.Password()
	switch {
	case !hasPassword && u.Scheme != "rediss":
		return fail("set a password (requirepass or an ACL user) and use rediss:// in REDIS_URL", "Redis at %s has neither a password nor TLS", u.Hostname())
	case !hasPassword:
		return fail("set a password (requirepass or an ACL user) in REDIS_URL", "Redis at %s has no password", u.Hostname())
	case u.Scheme != "rediss":
		return fail("use rediss:// (TLS) in REDIS_URL", "Redis at %s is reached without TLS: its password and the cached sessions cross the network in clear", u.Hostname())
	}
	return ok("Redis at %s: password and TLS", u.Hostname())
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxSessionTTL is the longest session lifetime doctor finds sane.
const maxSessionTTL = 30 * 24 * time.Hour

// checkSessions: the session lifetime is bounded and the password hash's
// parameters are at least OWASP's argon2id minimums.
func checkSessions(_ context.Context, e *Env) Result {
	h := e.hash()
	hashOK := (h.MemoryKiB >= 19456 && h.Time >= 2) || (h.MemoryKiB >= 47104 && h.Time >= 1)
	if !hashOK || h.Threads < 1 {
		return fail("raise the password package's Memory and Time to OWASP's argon2id minimum (19 MiB and 2 passes, or 46 MiB and 1)",
			"argon2id with %d KiB, %d passes, %d lanes is below OWASP's minimum", h.MemoryKiB, h.Time, h.Threads)
	}
	ttl := duration(e.SessionTTL)
	if e.SessionTTL > maxSessionTTL {
		return warn(fmt.Sprintf("set KURA_SESSION_TTL to %s or less", duration(maxSessionTTL)), "sessions live %s: a stolen token stays good that long", ttl)
	}
	return ok("sessions live %s; argon2id with %d KiB, %d passes, %d lanes", ttl, h.MemoryKiB, h.Time, h.Threads)
}

// checkRateLimits: the rate limits are on: the switch, and each limit
// (a zero limit is the default, which is on; "off" is ratelimit.NoLimit).
func checkRateLimits(_ context.Context, e *Env) Result {
	if len(e.RateLimits) == 0 {
		return warn("put a rate limit in front of POST /api/auth/login and POST /api/users (a proxy's) until kura has its own", "rate limits not configured")
	}
	var on, off []string
	for _, s := range e.RateLimits {
		switch v := s.Value.(type) {
		case bool:
			if !v {
				return warn("unset "+s.Name+" (it is for benchmarks)", "rate limits are off (%s=false)", s.Name)
			}
		case ratelimit.Limit:
			switch {
			case v == (ratelimit.Limit{}):
				on = append(on, s.Name+" (the default)")
			case v.Off():
				off = append(off, s.Name)
			default:
				on = append(on, s.Name+"="+v.String())
			}
		}
	}
	if len(off) > 0 {
		return warn("set "+strings.Join(off, ", ")+" to a limit such as 10/1m, or unset it for the default", "rate limits off: %s", strings.Join(off, ", "))
	}
	return ok("rate limits on: %s", strings.Join(on, ", "))
}

// checkMetrics: the metrics are not public: the listener is on loopback,
// or every /metrics needs KURA_METRICS_TOKEN.
func checkMetrics(_ context.Context, e *Env) Result {
	addr, token := e.MetricsAddr, e.MetricsToken
	if addr == "" && !token {
		return ok("metrics are off")
	}
	if token {
		return ok("every /metrics needs KURA_METRICS_TOKEN")
	}
	host, _, err := net.SplitHostPort(addr)
	if err == nil && isLoopback(host) {
		return ok("the metrics listener is on loopback (%s)", addr)
	}
	return fail("set KURA_METRICS_ADDR to a loopback address such as 127.0.0.1:9464, or set KURA_METRICS_TOKEN",
		"the metrics listener at %s answers anyone who reaches it, without a token", addr)
}
