package httpapi

import (
	"io"
	"net/http"
	"strings"
)

// drainLimit bounds the part of an oversized request body that is read and
// thrown away after its 413, so that a client that sends the whole body
// before reading (one that does not send Expect: 100-continue) can finish
// writing and then read the answer, instead of meeting a connection reset.
const drainLimit = 16 << 20 // 16 MiB

// writeTooLarge answers 413 with body, flushed with its length, and then
// reads and discards the rest of the request body, up to drainLimit and
// within the server's ReadTimeout. A body declared larger than drainLimit,
// or one the client waits to send (Expect: 100-continue), is not read: the
// connection closes after the answer.
func (s *Server) writeTooLarge(w http.ResponseWriter, r *http.Request, body *errorBody) {
	rc := http.NewResponseController(w)
	drain := r.Body != nil && r.Body != http.NoBody && r.ContentLength <= drainLimit &&
		!strings.EqualFold(r.Header.Get("Expect"), "100-continue") &&
		rc.EnableFullDuplex() == nil // read the body after the answer is written
	if !drain {
		w.Header().Set("Connection", "close")
	}
	s.writeJSON(w, r, http.StatusRequestEntityTooLarge, body)
	if !drain || rc.Flush() != nil {
		return
	}
	io.CopyN(io.Discard, r.Body, drainLimit)
}
