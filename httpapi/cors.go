package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// CORSMaxAge is how long, in seconds, a browser may reuse the answer to a
// preflight request.
const CORSMaxAge = 600

// CORS header values; net/http never modifies them.
var (
	corsAllowHeaders  = []string{"Authorization, Content-Type, Idempotency-Key"}
	corsExposeHeaders = []string{"Idempotent-Replayed, Location, Retry-After, X-Request-Id"}
	corsMaxAge        = []string{fmt.Sprint(CORSMaxAge)}
)

// cors answers cross-origin requests from Config.CORSOrigins, and only
// those (an exact origin, or one that an origin pattern such as
// https://*.example.com matches: see ValidateOrigin): an allowed Origin is
// echoed in Access-Control-Allow-Origin, and
// a preflight (OPTIONS with Access-Control-Request-Method) from one gets
// 204 with the methods of the path, the headers the API reads
// (Authorization, Content-Type) and a Max-Age. Any other origin gets no
// CORS header, so a browser keeps its page from reading the answer.
// Credentials (cookies) are never allowed: the API authenticates with
// bearer tokens only. CORSLoopback adds every http origin of this
// machine (loopbackOrigin), for development. Without either, cors is next
// itself.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 && !s.cfg.CORSLoopback {
		return next
	}
	allowed := make(map[string]bool, len(s.cfg.CORSOrigins))
	var patterns []originPattern
	for _, o := range s.cfg.CORSOrigins {
		if p, ok := parseOriginPattern(o); ok {
			patterns = append(patterns, p)
		} else {
			allowed[o] = true
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin") // the answer depends on it, whatever it is
		origin := header(r, "Origin")
		if origin == "" || !allowed[origin] && !matchAny(patterns, origin) && !(s.cfg.CORSLoopback && loopbackOrigin(origin)) {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
			h["Access-Control-Expose-Headers"] = corsExposeHeaders
			next.ServeHTTP(w, r)
			return
		}
		methods := s.routeMethods(r)
		if len(methods) == 0 { // no such path: its 404, readable by the page
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
		h["Access-Control-Allow-Headers"] = corsAllowHeaders
		h["Access-Control-Max-Age"] = corsMaxAge
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	})
}

// loopbackOrigin reports whether origin is http://localhost,
// http://127.0.0.1 or http://[::1], with or without a port.
func loopbackOrigin(origin string) bool {
	rest, ok := strings.CutPrefix(origin, "http://")
	if !ok {
		return false
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		if !isDigits(port) || len(port) > 5 {
			return false
		}
	}
	return host == "localhost" || host == "127.0.0.1" || host == "[::1]"
}

// routeMethods returns the methods some route of r's path accepts.
func (s *Server) routeMethods(r *http.Request) []string {
	var allow []string
	probe := *r
	for _, m := range s.methods {
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// ValidateOrigin reports what is wrong with o as an entry of
// Config.CORSOrigins. An entry is either an origin as a browser sends it,
// compared exactly: scheme://host[:port] in lower case, http or https, no
// path, no trailing slash (https://app.example.com); or a pattern whose
// first label is "*" under a fixed registrable domain, with the scheme and
// the port fixed (https://*.example.com, http://*.dev.example.com:8080).
// The "*" stands for exactly one DNS label (letters, digits and hyphens,
// as in a TLS certificate's wildcard): https://a.example.com matches
// https://*.example.com; https://example.com, https://a.b.example.com,
// https://a.example.com:8443, http://a.example.com and
// https://a.example.com.evil.net do not. "*" alone, a "*" anywhere else
// (https://app.*.com, a wildcard port) and a pattern over a public suffix
// (https://*.com, https://*.co.uk, https://*.github.io, whose labels
// anyone may register) are refused.
func ValidateOrigin(o string) error { return validateOrigin(o) }

func validateOrigin(o string) error {
	if strings.Contains(o, "*") {
		return validatePattern(o)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		o != u.Scheme+"://"+u.Host || o != strings.ToLower(o) {
		return fmt.Errorf("CORSOrigins: %q is not an origin: want scheme://host[:port] in lower case, such as https://app.example.com, without a path or a trailing slash, or a pattern such as https://*.example.com", o)
	}
	return nil
}

// validatePattern checks an entry that holds a "*".
func validatePattern(o string) error {
	if o == "*" {
		return fmt.Errorf("CORSOrigins: %q would let every site's pages read the API's answers: list the origins, or a pattern such as https://*.example.com", o)
	}
	p, ok := parseOriginPattern(o)
	if !ok {
		return fmt.Errorf("CORSOrigins: %q is not an origin pattern: a wildcard may only be the first label of the host, under a fixed domain, with the scheme and port fixed, in lower case, such as https://*.example.com", o)
	}
	host := p.suffix[1:] // without its leading "."
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(host); err != nil {
		return fmt.Errorf("CORSOrigins: %q covers a public suffix (%s), whose subdomains anyone may register: name a domain of your own, such as https://*.example.com", o, host)
	}
	return nil
}

// originPattern is an entry https://*.example.com[:port] of CORSOrigins:
// prefix is "https://", suffix ".example.com[:port]".
type originPattern struct{ prefix, suffix string }

// parseOriginPattern reads o as scheme://*.domain[:port], in lower case,
// the domain of two labels or more, no other "*".
func parseOriginPattern(o string) (originPattern, bool) {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || scheme != "http" && scheme != "https" || o != strings.ToLower(o) {
		return originPattern{}, false
	}
	suffix, ok := strings.CutPrefix(rest, "*.")
	if !ok || strings.Contains(suffix, "*") {
		return originPattern{}, false
	}
	u, err := url.Parse(scheme + "://x." + suffix)
	if err != nil || u.Host != "x."+suffix || u.Hostname() == "" || !strings.Contains(u.Hostname()[2:], ".") ||
		strings.HasSuffix(u.Hostname(), ".") || net.ParseIP(u.Hostname()[2:]) != nil || isDigits(lastLabel(u.Hostname())) {
		return originPattern{}, false
	}
	if port := u.Port(); strings.HasSuffix(suffix, ":") || port != "" && !isDigits(port) {
		return originPattern{}, false
	}
	for _, label := range strings.Split(u.Hostname()[2:], ".") {
		if !isLabel(label) {
			return originPattern{}, false
		}
	}
	return originPattern{prefix: scheme + "://", suffix: "." + suffix}, true
}

// match reports whether origin is the pattern's prefix, one DNS label and
// its suffix.
func (p originPattern) match(origin string) bool {
	if len(origin) <= len(p.prefix)+len(p.suffix) || !strings.HasPrefix(origin, p.prefix) || !strings.HasSuffix(origin, p.suffix) {
		return false
	}
	return isLabel(origin[len(p.prefix) : len(origin)-len(p.suffix)])
}

func matchAny(patterns []originPattern, origin string) bool {
	for _, p := range patterns {
		if p.match(origin) {
			return true
		}
	}
	return false
}

// isLabel reports whether s is one DNS label as a browser writes it in an
// origin: 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func lastLabel(host string) string { return host[strings.LastIndexByte(host, '.')+1:] }
