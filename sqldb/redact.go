package sqldb

import (
	"fmt"
	"log/slog"
	"strings"
)

// scrubber removes known secrets (the passwords of DATABASE_URL) from error
// messages and driver log lines.
type scrubber []string

// String returns s with every secret replaced by "xxxxx".
func (sc scrubber) String(s string) string {
	for _, secret := range sc {
		s = strings.ReplaceAll(s, secret, "xxxxx")
	}
	return s
}

// Err returns err unchanged when its message holds no secret, and otherwise
// an error with the same chain whose message has the secrets replaced.
func (sc scrubber) Err(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := sc.String(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError carries an error whose message contained a secret. Its
// Error is the scrubbed message; Unwrap keeps errors.Is and errors.As
// working on the original chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Format prints only the scrubbed message, whatever the verb.
func (e *redactedError) Format(f fmt.State, _ rune) { fmt.Fprint(f, e.msg) }

// mysqlLogger routes the MySQL driver's rare log lines to slog, scrubbed.
type mysqlLogger struct {
	log *slog.Logger
	sc  scrubber
}

func (l mysqlLogger) Print(v ...any) {
	l.log.Warn("mysql driver", "msg", l.sc.String(fmt.Sprint(v...)))
}
