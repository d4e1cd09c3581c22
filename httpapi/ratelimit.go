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
	// DefaultLoginFailureLimit is the password checks one account takes,
	// from anywhere, before each waits its turn: 10 in 15 minutes, then
	// one every 90 s.
	DefaultLoginFailureLimit = ratelimit.Limit{Events: 10, Per: 15 * time.Minute}
	// DefaultAnonWriteLimit bounds registrations and other writes without
	// a verified token per client address: 20 an hour.
	DefaultAnonWriteLimit = ratelimit.Limit{Events: 20, Per: time.Hour}
	// DefaultAnonReadLimit bounds anonymous reads of a user and reads
	// whose token does not verify per client address: 600 an hour (a
	// burst of 600, then one every 6 s).
	DefaultAnonReadLimit = ratelimit.Limit{Events: 600, Per: time.Hour}
	// DefaultLinkLimit bounds the requests for a link by mail (password
	// reset, a new verification link) per client address: 10 an hour.
	DefaultLinkLimit = ratelimit.Limit{Events: 10, Per: time.Hour}
	// DefaultLinkAccountLimit bounds them per address asked about, an
	// account's or not: 3 an hour.
	DefaultLinkAccountLimit = ratelimit.Limit{Events: 3, Per: time.Hour}
	// DefaultTokenLimit bounds the requests of one session token: 600 a
	// minute (a burst of 600, then 10 a second).
	DefaultTokenLimit = ratelimit.Limit{Events: 600, Per: time.Minute}
)

// DefaultMaxLoginDelay is the longest a password check waits for its
// account's turn; one whose turn is further is refused.
const DefaultMaxLoginDelay = 3 * time.Second

// KnownAddressFor is how long an address from which an account was logged
// into keeps a password allowance of its own for that account: at least
// this long after each successful login (at most twice as long).
const KnownAddressFor = 30 * 24 * time.Hour

// RateLimits are the limits a Server applies through Config.Limiter. A
// zero field takes its default; ratelimit.NoLimit turns one off. Refused
// requests get 429 (rate_limited) with Retry-After, the seconds until one
// would be allowed. A limit keys on what was verified, never on what a
// request merely says: the client address (ClientAddr), a token that
// verifies, the account a store resolved a login to.
type RateLimits struct {
	// Login bounds POST /api/auth/login per client address;
	// zero means DefaultLoginLimit.
	Login ratelimit.Limit
	// LoginFailures bounds the password checks of one account, whatever
	// their address or spelling of the login: every check, by a login or
	// by a change confirmed with current_password, takes one event before
	// the password is verified. Past the allowance a check waits for the
	// account's next turn when it is at most MaxLoginDelay away, else it
	// is refused (429), so that parallel guesses cannot multiply the
	// rate. An address that logged into the account within
	// KnownAddressFor has an allowance of its own for it, so that no one
	// can keep the owner out by spending the account's. An unknown login
	// meets the same, as its canonical form. Zero means
	// DefaultLoginFailureLimit.
	LoginFailures ratelimit.Limit
	// MaxLoginDelay bounds that wait; zero means DefaultMaxLoginDelay.
	MaxLoginDelay time.Duration
	// AnonWrite bounds, per client address, POST /api/users
	// (registration) whatever the request carries, and every other
	// request that is not GET, HEAD or OPTIONS and is not authenticated
	// by a token that verifies (none, malformed, wrong or expired): kura's
	// routes and an application's (Handle, HandleAuth) alike. Zero means
	// DefaultAnonWriteLimit.
	AnonWrite ratelimit.Limit
	// AnonRead bounds, per client address, anonymous GET /api/users/{id}
	// and every GET, HEAD or OPTIONS whose token does not verify; zero
	// means DefaultAnonReadLimit. /health, /health/live and
	// /health/ready are never limited.
	AnonRead ratelimit.Limit
	// Token bounds every request authenticated by one session token;
	// zero means DefaultTokenLimit.
	Token ratelimit.Limit
	// Link bounds POST /api/auth/password-reset and
	// /api/auth/verify-email/resend together per client address; zero
	// means DefaultLinkLimit.
	Link ratelimit.Limit
	// LinkAccount bounds them per email address asked about (lower-cased),
	// an account's or not, so that the answer tells nothing; zero means
	// DefaultLinkAccountLimit. The flows also cap the links one account
	// receives (accounts.MaxLinksPerHour), by account.
	LinkAccount ratelimit.Limit
}

// withDefaults fills the zero fields of l.
func (l RateLimits) withDefaults() RateLimits {
	setDefault(&l.Login, DefaultLoginLimit)
	setDefault(&l.LoginFailures, DefaultLoginFailureLimit)
	setDefault(&l.MaxLoginDelay, DefaultMaxLoginDelay)
	setDefault(&l.AnonWrite, DefaultAnonWriteLimit)
	setDefault(&l.AnonRead, DefaultAnonReadLimit)
	setDefault(&l.Token, DefaultTokenLimit)
	setDefault(&l.Link, DefaultLinkLimit)
	setDefault(&l.LinkAccount, DefaultLinkAccountLimit)
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

// isRead reports whether method only reads.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// limitAnon applies to a request without a verified token the limit of
// its client address: RateLimits.AnonRead for a read, AnonWrite for any
// other method.
func (s *Server) limitAnon(r *http.Request) error {
	if isRead(r.Method) {
		return s.limit(r.Context(), "anon-read:"+s.ClientAddr(r), s.limits.AnonRead)
	}
	return s.limit(r.Context(), "anon-write:"+s.ClientAddr(r), s.limits.AnonWrite)
}

// unverified returns err, the error of a request whose token did not
// verify, once the request has been counted against its address's
// anonymous limit; the 429 of that limit instead when it is spent.
func (s *Server) unverified(r *http.Request, err error) error {
	if lerr := s.limitAnon(r); lerr != nil {
		return lerr
	}
	return err
}

// knownAddress is the limit whose one event marks an address as known to
// an account: taken at a successful login, spent for KnownAddressFor.
var knownAddress = ratelimit.Limit{Events: 1, Per: KnownAddressFor}

// passwordGuard limits the password checks of one request from addr
// (RateLimits.LoginFailures): its check is the kura.PasswordGuard the
// stores call.
type passwordGuard struct {
	s       *Server
	addr    string
	account string // the account of the last check
}

// passwordGuard returns the guard of a request from r's client address.
func (s *Server) passwordGuard(r *http.Request) *passwordGuard {
	return &passwordGuard{s: s, addr: s.ClientAddr(r)}
}

// withPasswordGuard returns r's context carrying the guard of g.
func withPasswordGuard(ctx context.Context, g *passwordGuard) context.Context {
	return kura.WithPasswordGuard(ctx, g.check)
}

// check takes one event of the account's allowance before its password
// is checked: the account's own, or, when that is spent and the address
// is known to the account, the address's for it. It waits for the
// event's slot when that is at most MaxLoginDelay away. Errors:
// ERATELIMITED, ctx's error.
func (g *passwordGuard) check(ctx context.Context, account string) error {
	g.account = account
	l, lim := g.s.limits.LoginFailures, g.s.cfg.Limiter
	if l.Off() {
		return nil
	}
	key := accountKey(account)
	if ok, _ := lim.Allow(ctx, key, l); ok {
		return nil
	}
	if lim.Delay(ctx, knownKey(key, g.addr), knownAddress) > 0 {
		key += "@" + g.addr
	}
	ok, wait := lim.Reserve(ctx, key, l, g.s.limits.MaxLoginDelay)
	if !ok {
		return RateLimited(wait)
	}
	return sleep(ctx, wait)
}

// loggedIn marks the address as known to the account of the last check,
// for KnownAddressFor from now: called when a login succeeded.
func (g *passwordGuard) loggedIn(ctx context.Context) {
	if g.account == "" || g.s.limits.LoginFailures.Off() {
		return
	}
	// The mark's one event is spent for a period; reserving the next
	// period's too renews it, so it lasts at least KnownAddressFor after
	// every login.
	g.s.cfg.Limiter.Reserve(ctx, knownKey(accountKey(g.account), g.addr), knownAddress, KnownAddressFor)
}

// accountKey is the key of an account's password checks: a digest of
// the account the store named, so that no email reaches a shared store,
// and known and unknown accounts look alike there.
func accountKey(account string) string {
	h := sha256.Sum256([]byte(account))
	return "password:" + hex.EncodeToString(h[:16])
}

// knownKey is the key of the mark that addr is known to the account of
// key.
func knownKey(key, addr string) string { return "known-" + key + "@" + addr }

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

// sleep waits d, or returns ctx's error if the client goes first.
func sleep(ctx context.Context, d time.Duration) error {
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
