// Package jsonlog is a slog.Handler that writes the same lines as
// slog.JSONHandler, byte for byte, at a fraction of its cost for the
// records a server writes most: a message and attributes that are strings,
// integers, booleans, durations and times, such as the access log's line
// per request. Any other record (a float, an error or another value of
// kind Any, a LogValuer, a group, an empty key, a time outside years 0 to
// 9999) is handed whole to a slog.JSONHandler with the same options and
// attributes, so what is written never differs from slog's, only how fast.
//
// A kura access log line took about 10,000 instructions through
// slog.JSONHandler, a third of them escaping strings one byte at a time
// through closures, the rest in the generic handler's state, groups and
// value resolution (docs/BENCHMARKS.md).
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/kura-dev/kura/internal/jsonstr"
)

// New returns a handler writing JSON lines to w, as slog.NewJSONHandler(w,
// opts) would. With opts.AddSource or opts.ReplaceAttr set it returns
// slog's own handler: those need what only it does.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	if opts.AddSource || opts.ReplaceAttr != nil {
		return slog.NewJSONHandler(w, opts)
	}
	out := &lockedWriter{w: w}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{std: slog.NewJSONHandler(out, opts), out: out, level: level}
}

// Handler writes the records it can to out itself, and passes the others
// to std. Both write through out, one line per Write, so lines never
// interleave.
type Handler struct {
	std   slog.Handler // slog's handler, with the same options and attributes
	out   *lockedWriter
	level slog.Leveler
	pre   []byte // the attributes of WithAttrs, each formatted after a comma
}

// lockedWriter serialises the writes of every handler derived from one
// New, as slog's handlers do with a mutex of their own.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled reports whether a record of level l is written.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

// WithAttrs returns a handler whose records carry as too. Attributes it
// cannot format itself make every record of the new handler go to slog's.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	std := h.std.WithAttrs(as)
	if len(as) == 0 {
		return h
	}
	pre := append([]byte(nil), h.pre...)
	for _, a := range as {
		var ok bool
		if pre, ok = appendAttr(pre, a); !ok {
			return std
		}
	}
	return &Handler{std: std, out: h.out, level: h.level, pre: pre}
}

// WithGroup returns slog's handler for the group (an empty name too, which
// slog's JSON handler writes as a key ""): groups are rare enough not to
// need a fast path.
func (h *Handler) WithGroup(name string) slog.Handler {
	return h.std.WithGroup(name)
}

// bufs holds the line buffers; lines above maxBuf are not kept.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxBuf = 16 << 10

// Handle writes r as one JSON line, or passes it to slog's handler when
// one of its attributes needs it.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	bp := bufs.Get().(*[]byte)
	b, ok := h.appendRecord((*bp)[:0], r)
	var err error
	if ok {
		_, err = h.out.Write(b)
	} else {
		err = h.std.Handle(ctx, r)
	}
	if cap(b) <= maxBuf {
		*bp = b
		bufs.Put(bp)
	}
	return err
}

// appendRecord appends r's line to b: the time (unless zero), level and
// message, then the handler's attributes and the record's, as slog's JSON
// handler orders them. It reports false if an attribute needs slog's.
func (h *Handler) appendRecord(b []byte, r slog.Record) ([]byte, bool) {
	b = append(b, '{')
	if !r.Time.IsZero() {
		var ok bool
		b = append(b, `"time":`...)
		if b, ok = appendTime(b, r.Time); !ok {
			return b, false
		}
		b = append(b, ',')
	}
	b = append(b, `"level":`...)
	b = appendString(b, r.Level.String())
	b = append(b, `,"msg":`...)
	b = appendString(b, r.Message)
	b = append(b, h.pre...)
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		b, ok = appendAttr(b, a)
		return ok
	})
	return append(b, '}', '\n'), ok
}

// appendAttr appends ,"key":value for the kinds formatted here, and
// reports false for any other attribute.
func appendAttr(b []byte, a slog.Attr) ([]byte, bool) {
	if a.Key == "" {
		return b, false // empty attributes and inline groups: slog's rules
	}
	b = append(b, ',')
	b = appendString(b, a.Key)
	b = append(b, ':')
	v := a.Value
	switch v.Kind() {
	case slog.KindString:
		b = appendString(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindDuration:
		b = strconv.AppendInt(b, int64(v.Duration()), 10) // as slog, in nanoseconds
	case slog.KindTime:
		return appendTime(b, v.Time())
	default:
		return b, false
	}
	return b, true
}

// appendTime appends t as slog does, quoted, in time.RFC3339Nano's layout
// (which time.Time.AppendFormat writes without its layout parser). Years
// outside 0 to 9999, which slog reports as an error, report false.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// appendString appends s quoted and escaped exactly as slog's JSON handler
// escapes it.
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, jsonstr.Slog) }
