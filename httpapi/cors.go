package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CORSMaxAge is how long, in seconds, a browser may reuse the answer to a
// preflight request.
const CORSMaxAge = 600

// CORS header values; net/http never modifies them.
var (
	corsAllowHeaders  = []string{"Authorization, Content-Type"}
	corsExposeHeaders = []string{"Location, Retry-After, X-Request-Id"}
	corsMaxAge        = []string{fmt.Sprint(CORSMaxAge)}
)

// cors answers cross-origin requests from Config.CORSOrigins, and only
// those: an allowed Origin is echoed in Access-Control-Allow-Origin, and
// a preflight (OPTIONS with Access-Control-Request-Method) from one gets
// 204 with the methods of the path, the headers the API reads
// (Authorization, Content-Type) and a Max-Age. Any other origin gets no
// CORS header, so a browser keeps its page from reading the answer.
// Credentials (cookies) are never allowed: the API authenticates with
// bearer tokens only. Without CORSOrigins, cors is next itself.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	allowed := make(map[string]bool, len(s.cfg.CORSOrigins))
	for _, o := range s.cfg.CORSOrigins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin") // the answer depends on it, whatever it is
		origin := header(r, "Origin")
		if origin == "" || !allowed[origin] {
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
// Config.CORSOrigins: it must be an origin as a browser sends it, compared
// exactly.
func ValidateOrigin(o string) error { return validateOrigin(o) }

func validateOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		o != u.Scheme+"://"+u.Host || o != strings.ToLower(o) {
		return fmt.Errorf("CORSOrigins: %q is not an origin: want scheme://host[:port] in lower case, such as https://app.example.com, without a path, a trailing slash or a wildcard", o)
	}
	return nil
}
