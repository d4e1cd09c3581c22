package httpapi

import (
	"context"
	"net/http"

	"github.com/kura-dev/kura"
)

// linkSent is the one answer to a request for a link by mail, whether or
// not an account has the address.
type linkSent struct {
	Message string `json:"message"`
}

// linkSentMessage is its message.
const linkSentMessage = "If an account has this address, a link is on its way to it."

type emailRequest struct {
	Email string `json:"email"`
}

type tokenRequest struct {
	Token    string `json:"token"`
	Password string `json:"password,omitempty"`
}

// handlePasswordReset serves POST /api/auth/password-reset {email}: 202
// with one body whether or not an account has the address. The request
// does the same work either way (it enqueues the job that looks the
// address up: kura.AccountService), and is limited per client address
// (RateLimits.Link) and per address asked about (RateLimits.LinkAccount).
func (s *Server) handlePasswordReset(w http.ResponseWriter, r *http.Request) {
	s.requestLink(w, r, s.cfg.Accounts.RequestPasswordReset)
}

// handleResendVerification serves POST /api/auth/verify-email/resend
// {email}, for an account whose address is not verified: as the password
// reset, 202 whatever the address, under the same limits.
func (s *Server) handleResendVerification(w http.ResponseWriter, r *http.Request) {
	s.requestLink(w, r, s.cfg.Accounts.SendVerification)
}

// requestLink is the common part of the requests for a link by mail.
func (s *Server) requestLink(w http.ResponseWriter, r *http.Request, send func(ctx context.Context, email string) error) {
	if err := s.limit(r.Context(), "link:"+s.ClientAddr(r), s.limits.Link); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in emailRequest
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.limit(r.Context(), "link-account:"+kura.NormalizeEmail(in.Email), s.limits.LinkAccount); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := send(r.Context(), in.Email); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.writeJSON(w, r, http.StatusAccepted, &linkSent{Message: linkSentMessage})
}

// readToken reads a request carrying a link's token, counted against the
// client address's anonymous write limit (RateLimits.AnonWrite) as every
// write without a session is. A missing token is the invalid link's
// answer too.
func (s *Server) readToken(w http.ResponseWriter, r *http.Request) (*tokenRequest, bool) {
	if err := s.limitAnon(r); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	var in tokenRequest
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return &in, true
}

// handleVerifyEmail serves POST /api/auth/verify-email {token}: 204, or
// 400 "Invalid or expired link." for any token that cannot be used.
func (s *Server) handleVerifyEmail(w http.ResponseWriter, r *http.Request) {
	if in, ok := s.readToken(w, r); ok {
		s.noContent(w, r, s.cfg.Accounts.VerifyEmail(r.Context(), in.Token))
	}
}

// handlePasswordResetConfirm serves POST /api/auth/password-reset/confirm
// {token, password}: 204 once the password is set and every session of
// the account ended; 422 naming "password" for a password the rules
// refuse (the token is not spent); 400 for a token that cannot be used.
func (s *Server) handlePasswordResetConfirm(w http.ResponseWriter, r *http.Request) {
	if in, ok := s.readToken(w, r); ok {
		s.noContent(w, r, s.cfg.Accounts.ResetPassword(r.Context(), in.Token, in.Password))
	}
}

// handleEmailChangeConfirm serves POST /api/auth/email-change/confirm
// {token}: 204 once the new address is the account's; 400 for a token
// that cannot be used; 409 naming "email" if another account took the
// address meanwhile.
func (s *Server) handleEmailChangeConfirm(w http.ResponseWriter, r *http.Request) {
	if in, ok := s.readToken(w, r); ok {
		s.noContent(w, r, s.cfg.Accounts.ConfirmEmailChange(r.Context(), in.Token))
	}
}

// noContent answers 204, or err.
func (s *Server) noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
