package kura

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in httpapi and to one exit
// message in the CLI.
const (
	EINVALID      = "invalid"                // input failed validation; Fields says where (422)
	EBADREQUEST   = "bad_request"            // the request itself is malformed (400)
	EMETHOD       = "method_not_allowed"     // the path has routes, but none for the method; Allow names theirs (405)
	EUNAUTHORIZED = "unauthorized"           // no or bad credentials (401)
	EFORBIDDEN    = "forbidden"              // authenticated but not allowed (403)
	ENOTFOUND     = "not_found"              // the thing does not exist (404)
	ECONFLICT     = "conflict"               // a unique value is taken; Fields names it (409)
	EINPROGRESS   = "in_progress"            // a request with the same idempotency key is still running; retry later (409)
	EKEYREUSED    = "idempotency_key_reused" // the idempotency key was used for another request (422)
	ETOOLARGE     = "too_large"              // the request body is too large (413)
	EPRECONDITION = "precondition_failed"    // an If-Match that no longer matches: the thing changed since it was read (412)
	ERATELIMITED  = "rate_limited"           // too many requests; retry later (429)
	EUNAVAILABLE  = "unavailable"            // a dependency is busy or down; retry later (503)
	EREADONLY     = "read_only"              // the service is read-only for maintenance; writes wait, reads go on (503)
	EINTERNAL     = "internal"               // anything else; never shown in detail (500)
)

// ErrBusy is wrapped by the EUNAVAILABLE error of a dependency that answers
// but has no capacity free right now, such as a database pool whose
// connections are all taken by calls while more wait. A dependency that does
// not answer is unavailable without being busy. GET /health reports a check
// that fails with ErrBusy as "busy" rather than "unreachable".
var ErrBusy = errors.New("busy")

// Error is the error type of the domain. Its Message is safe to show to the
// caller; the wrapped Err, if any, is for logs only and must never carry a
// secret.
type Error struct {
	// Code is one of the E* constants.
	Code string
	// Message is a human-readable sentence, safe to return to a client.
	Message string
	// Fields maps an input field to what is wrong with it (EINVALID,
	// ECONFLICT). Nil when the error is not about particular fields.
	Fields map[string]string
	// Err is the underlying cause, kept for logs; nil if there is none.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("kura error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("kura error: code=%s message=%s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an *Error about a single input field, such as
// FieldError(ECONFLICT, "email", "email is already taken").
func FieldError(code, field, message string) *Error {
	return &Error{Code: code, Message: message, Fields: map[string]string{field: message}}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a
// nil error and EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of the first *Error in err's
// chain, or a generic message for any other error so that nothing internal
// leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of the first *Error in err's
// chain, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
