package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/kura-dev/kura"
)

// codeStatus is the one table from kura error codes to HTTP statuses.
// A code missing from it is answered as EINTERNAL.
var codeStatus = map[string]int{
	kura.EINVALID:      http.StatusUnprocessableEntity,
	kura.EBADREQUEST:   http.StatusBadRequest,
	kura.EMETHOD:       http.StatusMethodNotAllowed,
	kura.EUNAUTHORIZED: http.StatusUnauthorized,
	kura.EFORBIDDEN:    http.StatusForbidden,
	kura.ENOTFOUND:     http.StatusNotFound,
	kura.ECONFLICT:     http.StatusConflict,
	kura.EINPROGRESS:   http.StatusConflict,
	kura.EKEYREUSED:    http.StatusUnprocessableEntity,
	kura.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	kura.EPRECONDITION: http.StatusPreconditionFailed,
	kura.ERATELIMITED:  http.StatusTooManyRequests,
	kura.EUNAVAILABLE:  http.StatusServiceUnavailable,
	kura.EREADONLY:     http.StatusServiceUnavailable,
	kura.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatus returns the HTTP status for a kura error code, and 500 for an
// unknown code.
func ErrorStatus(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// internalMessage is the only message a client ever sees for EINTERNAL.
const internalMessage = "Internal error."

// retryAfter is the Retry-After value, in seconds, sent with 429 and 503.
const retryAfter = "1"

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Frequently used errors. They carry no cause, so sharing them is safe.
var (
	errNotFound         = kura.Errorf(kura.ENOTFOUND, "Not found.")
	errUserNotFound     = kura.Errorf(kura.ENOTFOUND, "User not found.")
	errNoToken          = kura.Errorf(kura.EUNAUTHORIZED, "Missing or malformed bearer token.")
	errForbidden        = kura.Errorf(kura.EFORBIDDEN, "You may not change this user.")
	errForbiddenNotes   = kura.Errorf(kura.EFORBIDDEN, "You may not see this user's notifications.")
	errBadLogin         = kura.Errorf(kura.EUNAUTHORIZED, "Invalid login or password.")
	errMethodNotAllowed = kura.Errorf(kura.EMETHOD, "Method not allowed.")
	errUnavailable      = kura.Errorf(kura.EUNAVAILABLE, "The service is busy; retry later.")
)

// writeError answers r with err in the JSON error shape. Internal errors
// are logged with their cause and answered with a generic message; the
// cause of any error never reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// A timeout or a client that went away: not a bug, and not worth an
		// error line. The status hardly matters when the client is gone.
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "request interrupted",
			slog.String("request_id", RequestID(r.Context())), slog.Any("err", err))
		err = errUnavailable
	}
	code := kura.ErrorCode(err)
	status := ErrorStatus(code)
	d := errorDetail{Code: code, Message: kura.ErrorMessage(err), Fields: kura.ErrorFields(err)}
	if status == http.StatusInternalServerError {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("route", r.Pattern), slog.Any("err", err))
		s.writeInternal(w, r)
		return
	}
	if status == http.StatusServiceUnavailable && errors.Unwrap(err) != nil && !errors.Is(err, kura.ErrBusy) {
		// A dependency out of reach (a database lost mid-query): not a
		// bug, but worth a line with its cause. A busy pool shedding load
		// is counted by its stats instead of logged per request.
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "dependency unavailable",
			slog.String("request_id", RequestID(r.Context())),
			slog.String("route", r.Pattern), slog.Any("err", err))
	}
	h := w.Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", "Bearer")
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		h.Set("Retry-After", retryAfterSeconds(err))
		if code == kura.EREADONLY {
			h.Set("Retry-After", readOnlyRetryAfter)
		}
	case http.StatusConflict:
		if code == kura.EINPROGRESS {
			h.Set("Retry-After", retryAfter)
		}
	case http.StatusRequestEntityTooLarge:
		s.writeTooLarge(w, r, &errorBody{Error: d})
		return
	}
	s.writeJSON(w, r, status, &errorBody{Error: d})
}

// writeInternal answers 500 in the JSON error shape, saying nothing more.
func (s *Server) writeInternal(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusInternalServerError,
		&errorBody{Error: errorDetail{Code: kura.EINTERNAL, Message: internalMessage}})
}
