package httpapi

// OnShutdown registers f to run once Close has closed the listeners, so a
// test can tell, without sleeping, that new connections are refused.
func (s *Server) OnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }
