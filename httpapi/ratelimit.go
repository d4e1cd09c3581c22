package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/ratelimit"
)

// The default rate limits (see RateLimits and the README for why).
var (
	// DefaultLoginLimit is Rails 8's: 10 logins per client address in 3
	// minutes, then one every 18 s.
	DefaultLoginLimit = ratelimit.Limit{Events: 10, Per: 3 * time.Minute}
	// DefaultLoginFailureLimit is the failed logins one account takes,
	// from anywhere, before its logins are slowed: 10 in 15 minutes.
	DefaultLoginFailureLimit = ratelimit.Limit{Events: 10, Per: 15 * time.Minute}
	// DefaultAnonWriteLimit bounds registrations and other writes without
	// a token per client address: 20 an hour.
	DefaultAnonWriteLimit = ratelimit.Limit{Events: 20, Per: time.Hour}
	// DefaultTokenLimit bounds the requests of one session token: 600 a
	// minute (a burst of 600, then 10 a second).
	DefaultTokenLimit = ratelimit.Limit{Events: 600, Per: time.Minute}
)

// DefaultMaxLoginDelay is the longest a login to an account past its
// failure limit waits before it is checked.
const DefaultMaxLoginDelay = 3 * time.Second

// RateLimits are the limits a Server applies through Config.Limiter. A
// zero field takes its default; ratelimit.NoLimit turns one off. Refused
// requests get 429 (rate_limited) with Retry-After, the seconds until one
// would be allowed.
type RateLimits struct {
	// Login bounds POST /api/auth/login per client address;
	// zero means DefaultLoginLimit.
	Login ratelimit.Limit
	// LoginFailures is how many failed logins one account takes, whatever
	// their address, before every login to it waits (the time until the
	// account would take another failure, at most MaxLoginDelay) before
	// its password is checked. The owner is slowed, never locked out.
	// Zero means DefaultLoginFailureLimit.
	LoginFailures ratelimit.Limit
	// MaxLoginDelay bounds that wait; zero means DefaultMaxLoginDelay.
	MaxLoginDelay time.Duration
	// AnonWrite bounds POST /api/users (registration) and the other
	// requests without an Authorization header that are not GET, HEAD or
	// OPTIONS, per client address; zero means DefaultAnonWriteLimit.
	AnonWrite ratelimit.Limit
	// Token bounds every request authenticated by one session token;
	// zero means DefaultTokenLimit.
	Token ratelimit.Limit
}

// withDefaults fills the zero fields of l.
func (l RateLimits) withDefaults() RateLimits {
	setDefault(&l.Login, DefaultLoginLimit)
	setDefault(&l.LoginFailures, DefaultLoginFailureLimit)
	setDefault(&l.MaxLoginDelay, DefaultMaxLoginDelay)
	setDefault(&l.AnonWrite, DefaultAnonWriteLimit)
	setDefault(&l.Token, DefaultTokenLimit)
	return l
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and
// CIDR prefixes ("10.0.0.0/8, 192.0.2.7"), for Config.TrustedProxies.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// trusted reports whether a is one of the trusted proxies.
func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address rate limits count r's client by: the
// socket's peer, or, when that peer is a trusted proxy, the rightmost
// X-Forwarded-For address that is not one (a client can write anything
// to the left of what its proxies appended, nothing to the right). An
// IPv6 client stands for its /64, which one host commonly holds whole.
func (s *Server) ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if s.trusted(a) {
		a = s.forwardedFor(r, a)
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// forwardedFor walks X-Forwarded-For from the right, past trusted
// proxies, and returns the first address that is not one; peer when the
// header has none, or holds something that is not an address.
func (s *Server) forwardedFor(r *http.Request, peer netip.Addr) netip.Addr {
	hops := r.Header.Values("X-Forwarded-For")
	var all []string
	for _, h := range hops {
		all = append(all, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(all) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(all[i]))
		if err != nil {
			return client
		}
		client = a.Unmap()
		if !s.trusted(client) {
			return client
		}
	}
	return client
}

// limit takes one event of key under l. Errors: ERATELIMITED carrying
// the wait.
func (s *Server) limit(ctx context.Context, key string, l ratelimit.Limit) error {
	if ok, wait := s.cfg.Limiter.Allow(ctx, key, l); !ok {
		return RateLimited(wait)
	}
	return nil
}

// limitAnonWrite applies RateLimits.AnonWrite to a request that writes
// without an Authorization header.
func (s *Server) limitAnonWrite(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if header(r, "Authorization") != "" {
		return nil
	}
	return s.limit(r.Context(), "anon-write:"+s.ClientAddr(r), s.limits.AnonWrite)
}

// accountKey is the key of a login's account: a digest of the login as
// the store matches it (trimmed, case-insensitive), so that no email
// reaches a shared store.
func accountKey(login string) string {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(login))))
	return "login-failed:" + hex.EncodeToString(h[:16])
}

// tokenKey is the key of a session token: its digest, never the token.
func tokenKey(token string) string { return "token:" + sessionDigest(token) }

// sessionDigest returns the digest of a session token, kura.TokenDigest,
// or for a store whose tokens are not kura's the hex SHA-256 of the token.
func sessionDigest(token string) string {
	digest, ok := kura.TokenDigest(token)
	if !ok {
		h := sha256.Sum256([]byte(token))
		digest = hex.EncodeToString(h[:])
	}
	return digest
}

// slowLogin waits before checking a login to an account past its failure
// limit: the time until it would take another failure, at most
// MaxLoginDelay. It returns ctx's error if the client goes first.
func (s *Server) slowLogin(ctx context.Context, account string) error {
	d := min(s.cfg.Limiter.Delay(ctx, account, s.limits.LoginFailures), s.limits.MaxLoginDelay)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryAfterError is the cause of an ERATELIMITED error: the wait.
type retryAfterError time.Duration

func (e retryAfterError) Error() string { return "retry after " + time.Duration(e).String() }

// RateLimited returns the ERATELIMITED error of a request refused for a
// rate limit: 429 with Retry-After set to wait, in seconds rounded up.
func RateLimited(wait time.Duration) error {
	return &kura.Error{Code: kura.ERATELIMITED, Message: "Too many requests; retry later.", Err: retryAfterError(wait)}
}

// retryAfterSeconds returns the Retry-After of err: the wait it carries
// in whole seconds, rounded up and at least 1, or the default.
func retryAfterSeconds(err error) string {
	var ra retryAfterError
	if !errors.As(err, &ra) {
		return retryAfter
	}
	return strconv.FormatInt(max(1, int64(math.Ceil(time.Duration(ra).Seconds()))), 10)
}
