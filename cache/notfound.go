package cache

import (
	"errors"

	"github.com/kura-dev/kura"
)

// The defaults of Config.IsNotFound and Config.NotFoundError, and the
// message stored in Redis for a cached not-found error, are the only
// things package cache takes from kura: its coded *kura.Error, whose root
// package imports nothing but the standard library.

func isKuraNotFound(err error) bool { return kura.ErrorCode(err) == kura.ENOTFOUND }

func kuraNotFound(message string) error { return &kura.Error{Code: kura.ENOTFOUND, Message: message} }

// notFoundMessage is what is stored in Redis for a not-found error.
func notFoundMessage(err error) string {
	var e *kura.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
