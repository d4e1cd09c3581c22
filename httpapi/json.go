package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/kura-dev/kura"
)

// encoder is a reusable buffer with a JSON encoder writing into it.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

// maxPooledBuf bounds the buffers kept in the pool, so that one huge
// response does not pin its memory for ever.
const maxPooledBuf = 64 << 10

// writeJSON encodes v into a pooled buffer and writes it with the status,
// so that an encoding failure can still become a clean 500.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if u, ok := v.(userJSON); ok {
		writeUser(w, status, u)
		return
	}
	e := encoders.Get().(*encoder)
	defer putEncoder(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "encode response",
			slog.String("request_id", RequestID(r.Context())), slog.Any("err", err))
		e.buf.Reset()
		e.buf.WriteString(`{"error":{"code":"internal","message":"Internal error."}}` + "\n")
		status = http.StatusInternalServerError
	}
	writeBody(w, status, e.buf.Bytes())
}

// writeUser writes a user view, the hot path: no reflection, and no
// interface value to allocate for it.
func writeUser(w http.ResponseWriter, status int, u userJSON) {
	e := encoders.Get().(*encoder)
	defer putEncoder(e)
	e.buf.Reset()
	e.buf.Write(append(u.appendJSON(e.buf.AvailableBuffer()), '\n'))
	writeBody(w, status, e.buf.Bytes())
}

func putEncoder(e *encoder) {
	if e.buf.Cap() <= maxPooledBuf {
		encoders.Put(e)
	}
}

// writeBody writes a JSON body with the status and the headers every JSON
// answer carries.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Content-Type-Options"] = nosniff
	if _, ok := h["Cache-Control"]; !ok {
		h["Cache-Control"] = noStore // a handler that set its own keeps it
	}
	if status == http.StatusRequestEntityTooLarge {
		// The body is drained after this answer (drainBody): a length
		// lets the client read it whole without waiting for the end.
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// Shared header values; net/http never modifies them.
var (
	jsonContentType = []string{"application/json"}
	nosniff         = []string{"nosniff"}
	// noStore is every JSON response's Cache-Control unless its handler
	// set another: responses carry private views, tokens and lists, and
	// must not be kept by a browser or a proxy.
	noStore = []string{"no-store"}
	// noCache is the public view's: nothing in it is private, but a
	// renamed or deleted user must not be shown from a cache unasked.
	noCache = []string{"no-cache"}
)

// readJSON decodes the request body, a single JSON object, into dst.
//
// The Content-Type header is not checked: any body that parses as one JSON
// object is accepted. The API authenticates with bearer tokens only, never
// cookies, so a cross-site "simple" request gains nothing from it.
//
// Errors: ETOOLARGE beyond maxBytes; EBADREQUEST for an empty body,
// malformed JSON, anything but one object, an unknown field (named in
// Fields) or a value of the wrong type (named in Fields); EINVALID for a
// string that is not valid UTF-8 as sent, a lone surrogate escape such as
// \udc80 or a byte that is not UTF-8, which encoding/json would store as
// U+FFFD (the top-level member holding it named in Fields; see checkUTF8).
func readJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, dst any) error {
	if r.ContentLength > maxBytes {
		return tooLarge(maxBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return kura.Errorf(kura.EBADREQUEST, "Could not read the request body.")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return kura.Errorf(kura.EBADREQUEST, "The request body is empty; expected a JSON object.")
	}
	if trimmed[0] != '{' {
		return kura.Errorf(kura.EBADREQUEST, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if rest := bytes.TrimLeft(trimmed[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return kura.Errorf(kura.EBADREQUEST, "The request body must contain a single JSON object.")
	}
	return checkUTF8(trimmed)
}

func tooLarge(limit int64) error {
	return kura.Errorf(kura.ETOOLARGE, "The request body is larger than %d bytes.", limit)
}

// decodeError turns an encoding/json error into a client-safe EBADREQUEST.
func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return kura.Errorf(kura.EBADREQUEST, "Malformed JSON at byte %d.", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return kura.Errorf(kura.EBADREQUEST, "Malformed JSON: unexpected end of the body.")
	case errors.As(err, &typ) && typ.Field != "":
		want := "must be a JSON " + jsonKind(typ.Type.Kind().String())
		return fieldError(typ.Field, fmt.Sprintf("Field %q %s.", typ.Field, want), want)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(name, `"`)
		return fieldError(field, fmt.Sprintf("Unknown field %q.", field), "is not a known field")
	}
	return kura.Errorf(kura.EBADREQUEST, "Malformed JSON.")
}

// fieldError is an EBADREQUEST about one field of the body.
func fieldError(field, message, fieldMessage string) error {
	return &kura.Error{Code: kura.EBADREQUEST, Message: message, Fields: map[string]string{field: fieldMessage}}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(goKind string) string {
	switch {
	case goKind == "string" || goKind == "ptr":
		return "string"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "bool":
		return "boolean"
	}
	return "value of another type"
}
