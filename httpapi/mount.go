package httpapi

import (
	"net/http"
	"strings"
)

// Mount serves h at every path under prefix (such as "/admin/", ending
// in a slash), through the server's middleware (request ids, the access
// log, OnRequest, panics) but outside the JSON API: h answers in its own
// format, and its routes are none of the API's (Mounts lists them, so
// that a description of the API can leave them out).
func (s *Server) Mount(prefix string, h http.Handler) {
	if !strings.HasPrefix(prefix, "/") || !strings.HasSuffix(prefix, "/") {
		panic("httpapi: Mount prefix must start and end with a slash: " + prefix)
	}
	s.mounts = append(s.mounts, prefix)
	s.mux.Handle(prefix, h)
}

// Mounts returns the prefixes of Mount, in order.
func (s *Server) Mounts() []string { return append([]string(nil), s.mounts...) }

// RetryAfter returns the Retry-After, in whole seconds, of an
// ERATELIMITED error of the server's (such as Login's).
func RetryAfter(err error) string { return retryAfterSeconds(err) }
