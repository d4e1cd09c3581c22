package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/kura-dev/kura"
)

// maxTokenLen bounds a bearer token before it reaches the session store.
const maxTokenLen = 512

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header. present is false when there is no Authorization header at all;
// ok is false when there is one but it is not a usable bearer token, or
// when there are several: which one a proxy or a cache on the way read is
// anyone's guess.
func bearerToken(r *http.Request) (token string, present, ok bool) {
	v := r.Header["Authorization"]
	if len(v) == 0 {
		return "", false, false
	}
	h := v[0]
	if len(v) > 1 || h == "" {
		return "", true, false
	}
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", true, false
	}
	token = strings.TrimSpace(token)
	if token == "" || len(token) > maxTokenLen || strings.ContainsAny(token, " \t") {
		return "", true, false
	}
	return token, true, true
}

// authenticate returns the caller's user, requiring a valid bearer token;
// a request without one counts against its address's anonymous limit.
// Errors: EUNAUTHORIZED, ERATELIMITED, or whatever the session store
// reports.
func (s *Server) authenticate(r *http.Request) (*kura.User, error) {
	u, err := s.optionalUser(r)
	if err == nil && u == nil {
		return nil, s.unverified(r, errNoToken)
	}
	return u, err
}

// optionalUser returns the caller's user, or nil for an anonymous request.
// A present but invalid token is an error, not anonymity, and counts
// against the address's anonymous limit (then ERATELIMITED); a valid one
// counts against the token's. A write whose token was verified already
// (by idempotency keys, or for an app's route) gets that outcome again,
// counted once.
func (s *Server) optionalUser(r *http.Request) (*kura.User, error) {
	if !isRead(r.Method) {
		if c, _ := r.Context().Value(callerKey{}).(*callerResult); c != nil {
			return c.u, c.err
		}
	}
	token, present, ok := bearerToken(r)
	if !present {
		return nil, nil
	}
	if !ok {
		return nil, s.unverified(r, errNoToken)
	}
	sess, err := s.session.Authenticate(r.Context(), token)
	if kura.ErrorCode(err) == kura.EUNAUTHORIZED {
		return nil, s.unverified(r, err)
	} else if err != nil {
		return nil, err
	}
	if sess.User == nil {
		return nil, kura.Errorf(kura.EINTERNAL, "session %d has no user", sess.ID)
	}
	if err := s.limit(r.Context(), tokenKey(token), s.limits.Token); err != nil {
		return nil, err
	}
	return sess.User, nil
}

// withUser returns r's context carrying u, for the services below.
func withUser(r *http.Request, u *kura.User) context.Context {
	if u == nil {
		return r.Context()
	}
	return kura.NewContextWithUser(r.Context(), u)
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

// handleLogin serves POST /api/auth/login. A wrong login and a wrong
// password get the same 401 body. Logins are limited per client address
// (429), and the store checks the password through the guard of the
// account's checks (RateLimits.LoginFailures), which may wait or refuse.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	g := s.passwordGuard(r)
	if err := s.limit(r.Context(), "login:"+g.addr, s.limits.Login); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in loginRequest
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, err := s.login(r, g, in.Login, in.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusOK, &loginResponse{
		Token:     sess.Token,
		ExpiresAt: sess.ExpiresAt.UTC(),
		User:      userJSON{u: sess.User, private: true},
	})
}

// Login logs a user in as POST /api/auth/login does, for a login form
// served beside the API (the admin console): the same limit per client
// address (RateLimits.Login), the same checks of the fields and the same
// password guard (RateLimits.LoginFailures). Errors: EINVALID naming
// "login" or "password", EUNAUTHORIZED (one error, whatever was wrong),
// ERATELIMITED (see RetryAfter), EUNAVAILABLE.
func (s *Server) Login(r *http.Request, login, password string) (*kura.Session, error) {
	g := s.passwordGuard(r)
	if err := s.limit(r.Context(), "login:"+g.addr, s.limits.Login); err != nil {
		return nil, err
	}
	return s.login(r, g, login, password)
}

// login checks the fields, then the login and password through g.
func (s *Server) login(r *http.Request, g *passwordGuard, login, password string) (*kura.Session, error) {
	fields := map[string]string{}
	if strings.TrimSpace(login) == "" {
		fields["login"] = "is required"
	} else if err := kura.ValidateLogin(login); err != nil {
		fields["login"] = kura.ErrorFields(err)["login"]
	}
	if password == "" {
		fields["password"] = "is required"
	}
	if len(fields) > 0 {
		return nil, &kura.Error{Code: kura.EINVALID, Message: "Some fields are invalid.", Fields: fields}
	}
	sess, err := s.session.Login(withPasswordGuard(r.Context(), g), login, password)
	if kura.ErrorCode(err) == kura.EUNAUTHORIZED {
		err = errBadLogin // one answer, whatever the store said
	}
	if err != nil {
		return nil, err
	}
	if sess.User == nil {
		return nil, kura.Errorf(kura.EINTERNAL, "session %d has no user", sess.ID)
	}
	g.loggedIn(r.Context())
	return sess, nil
}

// handleLogout serves POST /api/auth/logout: it ends the caller's session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	token, _, ok := bearerToken(r)
	if !ok {
		s.writeError(w, r, s.unverified(r, errNoToken))
		return
	}
	err := s.session.Logout(r.Context(), token)
	if kura.ErrorCode(err) == kura.EUNAUTHORIZED {
		err = s.unverified(r, err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
