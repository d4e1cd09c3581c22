package jsonlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// same logs r through New and through slog.NewJSONHandler, each set up by
// with, and fails unless both wrote the same bytes.
func same(t *testing.T, opts *slog.HandlerOptions, with func(slog.Handler) slog.Handler, r slog.Record) string {
	t.Helper()
	var got, want bytes.Buffer
	ctx := context.Background()
	if err := with(New(&got, opts)).Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := with(slog.NewJSONHandler(&want, opts)).Handle(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Fatalf("jsonlog wrote\n%s\nslog wrote\n%s", got.String(), want.String())
	}
	return got.String()
}

func as(h slog.Handler) slog.Handler { return h }

var at = time.Date(2026, 12, 1, 11, 59, 30, 594652392, time.UTC)

func record(msg string, attrs ...slog.Attr) slog.Record {
	r := slog.NewRecord(at, slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	return r
}

// TestHandler_SameAsSlog compares every kind of record and attribute with
// slog's own JSON handler, byte for byte: those written here and those
// handed to slog's.
func TestHandler_SameAsSlog(t *testing.T) {
	accessLine := record("http request",
		slog.String("method", "GET"), slog.String("route", "GET /api/users/{id}"),
		slog.String("path", "/api/users/42"), slog.Int("status", 200),
		slog.Duration("duration", 789171*time.Nanosecond), slog.Int64("bytes", 78),
		slog.String("request_id", "697853f39331d1cb"))
	for name, r := range map[string]slog.Record{
		"access log":       accessLine,
		"no attributes":    record("kura serving"),
		"zero time":        slog.NewRecord(time.Time{}, slog.LevelWarn, "no time", 0),
		"custom level":     slog.NewRecord(at, slog.LevelError+2, "lvl", 0),
		"below debug":      slog.NewRecord(at, slog.LevelDebug-1, "lvl", 0),
		"every fast kind":  record("m", slog.Uint64("u", math.MaxUint64), slog.Int64("i", math.MinInt64), slog.Bool("b", true), slog.Bool("f", false), slog.Time("t", at.In(time.FixedZone("", -(3*3600+1800))))),
		"escapes":          record("a \"quoted\" \\ line\nnext\r\t\x00\x1f\x7f <b>&amp;", slog.String("k\"ey\n", "\u2028\u2029 é 日本 \xff\xfe bad")),
		"float":            record("m", slog.Float64("f", 1.5), slog.Float64("nan", math.NaN())),
		"error":            record("m", slog.Any("err", errors.New("boom \"x\""))),
		"any":              record("m", slog.Any("v", map[string]int{"a": 1}), slog.Any("nil", nil)),
		"group":            record("m", slog.Group("g", slog.Int("a", 1)), slog.String("after", "x")),
		"empty group":      record("m", slog.Group("g"), slog.String("after", "x")),
		"inline group":     record("m", slog.Group("", slog.Int("a", 1))),
		"empty key":        record("m", slog.String("", "x")),
		"log valuer":       record("m", slog.Any("v", valuer{})),
		"year 10000":       slog.NewRecord(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), slog.LevelInfo, "m", 0),
		"attr year -1":     record("m", slog.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))),
		"monotonic clock":  slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0),
		"whole second":     slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), slog.LevelInfo, "m", 0),
		"trailing zeros":   slog.NewRecord(time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC), slog.LevelInfo, "m", 0),
		"duplicate keys":   record("m", slog.Int("a", 1), slog.Int("a", 2)),
		"many attributes":  record("m", slog.Int("a", 1), slog.Int("b", 2), slog.Int("c", 3), slog.Int("d", 4), slog.Int("e", 5), slog.Int("f", 6), slog.Int("g", 7)),
		"negative numbers": record("m", slog.Int("i", -5), slog.Duration("d", -time.Second)),
	} {
		t.Run(name, func(t *testing.T) {
			line := same(t, nil, as, r)
			if !strings.Contains(line, "!ERROR:") && !json.Valid([]byte(line)) { // slog's error marks break JSON
				t.Errorf("not valid JSON: %s", line)
			}
		})
	}
	t.Run("WithAttrs", func(t *testing.T) {
		same(t, nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.String("svc", "kura\n"), slog.Int("pid", 7)}).WithAttrs([]slog.Attr{slog.Bool("x", true)})
		}, accessLine)
	})
	t.Run("WithAttrs slow", func(t *testing.T) {
		same(t, nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Float64("f", 0.25)}).WithAttrs([]slog.Attr{slog.String("s", "x")})
		}, accessLine)
	})
	t.Run("WithAttrs none", func(t *testing.T) {
		same(t, nil, func(h slog.Handler) slog.Handler { return h.WithAttrs(nil) }, accessLine)
	})
	t.Run("WithGroup", func(t *testing.T) {
		same(t, nil, func(h slog.Handler) slog.Handler {
			return h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).WithGroup("g").WithAttrs([]slog.Attr{slog.Int("b", 2)})
		}, accessLine)
	})
	t.Run("WithGroup empty", func(t *testing.T) {
		same(t, nil, func(h slog.Handler) slog.Handler { return h.WithGroup("") }, accessLine)
	})
	t.Run("ReplaceAttr", func(t *testing.T) {
		opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
		same(t, opts, as, accessLine)
	})
	t.Run("AddSource", func(t *testing.T) {
		same(t, &slog.HandlerOptions{AddSource: true}, as, accessLine)
	})
}

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved") }

// TestHandler_Enabled follows the level of the options, a LevelVar too.
func TestHandler_Enabled(t *testing.T) {
	ctx := context.Background()
	if h := New(&bytes.Buffer{}, nil); h.Enabled(ctx, slog.LevelDebug) || !h.Enabled(ctx, slog.LevelInfo) {
		t.Error("default level: want info and above")
	}
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	h := New(&bytes.Buffer{}, &slog.HandlerOptions{Level: &lv}).WithAttrs([]slog.Attr{slog.Int("a", 1)})
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) {
		t.Error("level warn: want warn and above")
	}
	lv.Set(slog.LevelDebug)
	if !h.Enabled(ctx, slog.LevelDebug) {
		t.Error("level changed to debug: want debug")
	}
}

// TestHandler_Concurrent writes from many goroutines through handlers of
// both paths on one writer: every line arrives whole.
func TestHandler_Concurrent(t *testing.T) {
	var buf bytes.Buffer
	h := New(&buf, nil)
	slow := h.WithAttrs([]slog.Attr{slog.Float64("f", 1)})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				hh := h
				if i%2 == 1 {
					hh = slow
				}
				hh.Handle(context.Background(), record("m", slog.Int("i", i), slog.Int("j", j)))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("%d lines, want 1600", len(lines))
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not a whole JSON line: %q", l)
		}
	}
}

// FuzzHandler compares lines of fuzzed strings, numbers and times with
// slog's own handler, and checks that each is valid JSON.
func FuzzHandler(f *testing.F) {
	f.Add("http request", "path", "/api/users/1", int64(200), int64(789171), int64(1764590370), int64(594652392), int32(0))
	f.Add("\x00\"\\\u2028\xff", "k\n", "<&>", int64(-1), int64(0), int64(-62135596800), int64(0), int32(-3599))
	f.Add("a long message of plain text\n", "a key of more than eight", "/api/users/1?x=\"y\"&z=\u00e9\u00e9\u00e9\u00e9", int64(1), int64(2), int64(3), int64(4), int32(5))
	f.Fuzz(func(t *testing.T, msg, key, val string, n, d, sec, nsec int64, offset int32) {
		tm := time.Unix(sec%253402300800, nsec%1e9).In(time.FixedZone("", int(offset%86400)))
		r := slog.NewRecord(tm, slog.Level(n%16), msg, 0)
		r.AddAttrs(slog.String(key, val), slog.Int64("n", n), slog.Duration("d", time.Duration(d)), slog.Time("t", tm))
		line := same(t, nil, as, r)
		if !json.Valid([]byte(line)) {
			t.Errorf("not valid JSON: %s", line)
		}
	})
}

// BenchmarkHandler compares an access log line through New with the same
// line through slog.NewJSONHandler, in the same run.
func BenchmarkHandler(b *testing.B) {
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{{"jsonlog", New(discard{}, nil)}, {"slog", slog.NewJSONHandler(discard{}, nil)}} {
		b.Run(h.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "http request", 0)
				r.AddAttrs(slog.String("method", "GET"), slog.String("route", "GET /api/users/{id}"),
					slog.String("path", "/api/users/42"), slog.Int("status", 200),
					slog.Duration("duration", 789171*time.Nanosecond), slog.Int64("bytes", 78),
					slog.String("request_id", "697853f39331d1cb"))
				h.h.Handle(ctx, r)
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
