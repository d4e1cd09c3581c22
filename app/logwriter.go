package app

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logWriter buffers the log of a long-running command (serve, worker), so
// that the access log does not cost a write(2) per request: lines are
// written out every interval, or as soon as maxLogBuffer bytes wait. A
// line at WARN or above is written at once, with the lines before it, so
// errors are never held back and the order is kept; Close writes what is
// left. A process that is killed (SIGKILL, a crash of the runtime) loses at
// most the info lines of the last interval; KURA_LOG_FLUSH_INTERVAL=0
// turns buffering off.
type logWriter struct {
	mu   sync.Mutex
	buf  []byte
	out  io.Writer
	stop chan struct{}
	done chan struct{}
}

// maxLogBuffer is how much a logWriter holds before it writes.
const maxLogBuffer = 64 << 10

func newLogWriter(out io.Writer, interval time.Duration) *logWriter {
	w := &logWriter{out: out, buf: make([]byte, 0, maxLogBuffer), stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop(interval)
	return w
}

func (w *logWriter) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write buffers p: one log line, as slog's handlers write them.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf)+len(p) > maxLogBuffer {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > maxLogBuffer {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *logWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *logWriter) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}

// Close stops the interval and writes out what is left. Lines logged after
// Close are written at once.
func (w *logWriter) Close() error {
	close(w.stop)
	<-w.done
	return w.Flush()
}

// flushingHandler writes a logWriter out after every record at WARN or
// above, so that warnings and errors leave the process at once.
type flushingHandler struct {
	slog.Handler
	w *logWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(as), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}
