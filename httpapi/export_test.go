package httpapi

import "net/http"

// OnShutdown registers f to run once Close has closed the listeners, so a
// test can tell, without sleeping, that new connections are refused.
func (s *Server) OnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// MatchedPattern returns the pattern of the route that serves r, "/" for
// the catch-all.
func (s *Server) MatchedPattern(r *http.Request) string {
	_, p := s.mux.Handler(r)
	return p
}
