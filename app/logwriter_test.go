package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

func TestLogWriter(t *testing.T) {
	t.Run("HoldsInfoUntilClose", func(t *testing.T) {
		var out testenv.LogBuffer
		w := newLogWriter(&out, time.Hour)
		log := slog.New(flushingHandler{slog.NewTextHandler(w, nil), w})
		log.Info("request one")
		log.Info("request two")
		if out.String() != "" {
			t.Fatalf("info lines written before the interval: %q", out.String())
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := out.String(); !strings.Contains(got, "request one") || !strings.Contains(got, "request two") {
			t.Fatalf("Close did not write what was held: %q", got)
		}
	})
	t.Run("WarningsAtOnceInOrder", func(t *testing.T) {
		var out testenv.LogBuffer
		w := newLogWriter(&out, time.Hour)
		defer w.Close()
		log := slog.New(flushingHandler{slog.NewTextHandler(w, nil), w})
		log.Info("before")
		log.With("k", "v").Error("broken")
		got := out.String()
		if i, j := strings.Index(got, "before"), strings.Index(got, "broken"); i < 0 || j < i {
			t.Fatalf("an error line was held back or reordered: %q", got)
		}
	})
	t.Run("Interval", func(t *testing.T) {
		var out testenv.LogBuffer
		w := newLogWriter(&out, 10*time.Millisecond)
		defer w.Close()
		slog.New(slog.NewTextHandler(w, nil)).Info("soon")
		testenv.Wait(t, 0, "the interval to write the line", func() bool { return strings.Contains(out.String(), "soon") })
	})
	t.Run("Full", func(t *testing.T) {
		var out testenv.LogBuffer
		w := newLogWriter(&out, time.Hour)
		defer w.Close()
		line := strings.Repeat("x", 1000) + "\n"
		for range maxLogBuffer/len(line) + 1 {
			w.Write([]byte(line))
		}
		if out.String() == "" {
			t.Fatal("a full buffer was not written")
		}
	})
}
