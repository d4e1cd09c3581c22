package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/kura-dev/kura"
)

// readOnlyRetryAfter is the Retry-After, in seconds, of a write refused
// in read-only mode: maintenance takes seconds, not a second.
const readOnlyRetryAfter = "5"

// errReadOnly is what every write answers in read-only mode.
var errReadOnly = kura.Errorf(kura.EREADONLY,
	"The service is read-only for maintenance: writes are refused for now, reads go on. Retry later.")

// drainPoll is how often SetReadOnly looks whether the writes under way
// have finished.
const drainPoll = 2 * time.Millisecond

// SetReadOnly turns the server's read-only mode on or off. While it is
// on, every write (any method but GET, HEAD and OPTIONS, on every route,
// an application's too) is answered 503 with Retry-After and the code
// kura.EREADONLY, and reads are served as ever. Turning it on returns once
// the writes that were under way have been answered, or with ctx's error
// when ctx ends first (the mode stays on). Turning it off returns at once.
func (s *Server) SetReadOnly(ctx context.Context, on bool) error {
	s.readOnly.Store(on)
	if !on {
		return nil
	}
	if s.writes.Load() == 0 {
		return nil
	}
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for s.writes.Load() != 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// ReadOnly reports whether the server refuses writes (see SetReadOnly).
func (s *Server) ReadOnly() bool { return s.readOnly.Load() }

// writeGate refuses writes in read-only mode and counts those it lets
// through until they are answered, so that SetReadOnly can wait for them.
// A write is counted before the mode is looked at: either SetReadOnly
// sees it counted and waits, or it sees the mode on and is refused. A
// read costs one comparison of its method.
func (s *Server) writeGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isRead(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		s.writes.Add(1)
		defer s.writes.Add(-1)
		if s.readOnly.Load() {
			s.writeError(w, r, errReadOnly)
			return
		}
		next.ServeHTTP(w, r)
	})
}
