package httpapi

import (
	"net/http"
	"slices"
	"strings"
)

// routes registers every route on the ServeMux, plus a catch-all that turns
// the mux's plain-text 404 and 405 into the JSON error shape.
func (s *Server) routes() {
	s.handle("POST /api/users", s.handleCreateUser)
	s.handle("GET /api/users", s.handleListUsers)
	s.handle("GET /api/users/me", s.handleMe)
	s.handle("GET /api/users/{id}", s.handleGetUser)
	s.handle("PATCH /api/users/{id}", s.handleUpdateUser)
	s.handle("DELETE /api/users/{id}", s.handleDeleteUser)
	s.handle("POST /api/auth/login", s.handleLogin)
	s.handle("POST /api/auth/logout", s.handleLogout)
	s.handleIf(s.cfg.Notifications != nil, "GET /api/users/{id}/notifications", s.handleListNotifications)
	s.handleIf(s.cfg.Admin != nil, "DELETE /api/users/{id}/sessions", s.handleEndSessions)
	s.handleIf(s.cfg.Admin != nil, "GET /api/audit", s.handleListAudit)
	s.handleIf(s.cfg.Stats != nil, "GET /api/stats", s.handleStats)
	// The account flows by mail (accountflows.go).
	accounts := s.cfg.Accounts != nil
	s.handleIf(accounts, "POST /api/auth/verify-email", s.handleVerifyEmail)
	s.handleIf(accounts, "POST /api/auth/verify-email/resend", s.handleResendVerification)
	s.handleIf(accounts, "POST /api/auth/password-reset", s.handlePasswordReset)
	s.handleIf(accounts, "POST /api/auth/password-reset/confirm", s.handlePasswordResetConfirm)
	s.handleIf(accounts, "POST /api/auth/email-change/confirm", s.handleEmailChangeConfirm)
	s.handle("GET /health", s.handleHealth)
	s.handle("GET /health/live", s.handleLive)
	s.handle("GET /health/ready", s.handleReady)
	s.handle("GET /openapi.json", s.handleOpenAPI) // OpenAPIPath
	s.handleIf(s.cfg.Index != nil, "GET /{$}", s.handleIndex)
	s.mux.HandleFunc("/", s.handleNoRoute)
}

// handleIf registers an optional route of kura's when on, and otherwise
// remembers it as left out, for OpenAPICoverage.
func (s *Server) handleIf(on bool, pattern string, h http.HandlerFunc) {
	if on {
		s.handle(pattern, h)
		return
	}
	s.omitted = append(s.omitted, operationOf(pattern))
}

// handle registers a "METHOD /path" route and remembers its method.
func (s *Server) handle(pattern string, h http.HandlerFunc) {
	method, _, _ := strings.Cut(pattern, " ")
	for _, m := range []string{method, http.MethodHead} {
		if m == http.MethodHead && method != http.MethodGet {
			continue // GET routes also serve HEAD
		}
		if !slices.Contains(s.methods, m) {
			s.methods = append(s.methods, m)
		}
	}
	if s.takesIdempotencyKey(method, pattern) {
		h = s.idempotent(pattern, h)
	}
	s.mux.HandleFunc(pattern, h)
	s.patterns = append(s.patterns, pattern)
}

// handleNoRoute answers what no route matched: 405 with Allow when the
// path has routes for other methods, 404 otherwise.
func (s *Server) handleNoRoute(w http.ResponseWriter, r *http.Request) {
	allow := s.routeMethods(r)
	if len(allow) == 0 {
		s.writeError(w, r, errNotFound)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.writeError(w, r, errMethodNotAllowed)
}
