package jsonstr

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// reference returns s as encoding/json and as slog's JSON handler write it.
func reference(t *testing.T, s string) (encodingJSON, slogJSON string) {
	t.Helper()
	j, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key != "s" {
			return slog.Attr{}
		}
		return a
	}})).Info("", "s", s)
	line := strings.TrimSuffix(buf.String(), "\n")
	return string(j), strings.TrimSuffix(strings.TrimPrefix(line, `{"s":`), "}")
}

var samples = []string{"", "plain ascii", "a\"b\\c", "<script>&amp;", "\u2028\u2029", "\x00\x01\b\f\n\r\t\x1f\x7f",
	"\xff\xfe", "日本語 é", "é\xc3", "\xe2\x80", strings.Repeat("long ", 40)}

// TestAppend compares both rules with the encoders they follow.
func TestAppend(t *testing.T) {
	for _, s := range samples {
		wantJSON, wantSlog := reference(t, s)
		if got := string(Append(nil, s, JSON)); got != wantJSON {
			t.Errorf("JSON %q: got %s, want %s", s, got, wantJSON)
		}
		if got := string(Append(nil, s, Slog)); got != wantSlog {
			t.Errorf("Slog %q: got %s, want %s", s, got, wantSlog)
		}
	}
}

// FuzzAppend compares any string with both encoders.
func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wantJSON, wantSlog := reference(t, s)
		if got := string(Append(nil, s, JSON)); got != wantJSON {
			t.Errorf("JSON %q: got %s, want %s", s, got, wantJSON)
		}
		if got := string(Append(nil, s, Slog)); got != wantSlog {
			t.Errorf("Slog %q: got %s, want %s", s, got, wantSlog)
		}
	})
}
