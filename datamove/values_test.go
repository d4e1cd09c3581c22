package datamove

import (
	"testing"
	"time"
)

func TestFastTime(t *testing.T) {
	for _, s := range []string{"2026-03-29 01:30:15.123", "1999-12-31 23:59:59", "2026-03-29 01:30:15.123456789", "2026-03-29 01:30:15.1"} {
		want, err := time.Parse("2006-01-02 15:04:05.999999999", s)
		got, ok := fastTime(s)
		if err != nil || !ok || !got.Equal(want) {
			t.Errorf("fastTime(%q) = %v, %v; want %v (%v)", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "2026-03-29T01:30:15Z", "2026-13-29 01:30:15", "2026-03-29 01:30:15.", "2026-03-29 01:30:15+02:00", "abcd-03-29 01:30:15"} {
		if _, ok := fastTime(s); ok {
			t.Errorf("fastTime(%q) accepted it", s)
		}
	}
}

// TestCanonicalJSON_EnginesAgree hashes one document as each engine hands
// it over (SQLite and MariaDB: the text written; PostgreSQL's jsonb: its
// own spacing, key order and numbers) to the same canonical text.
func TestCanonicalJSON_EnginesAgree(t *testing.T) {
	want := `{"bio":"x","city":"Oslo","n":100,"prefs":{"f":1.5,"theme":"dark"}}`
	for _, form := range []string{
		want,
		`{"n": 100, "bio": "x", "city": "Oslo", "prefs": {"f": 1.50, "theme": "dark"}}`, // jsonb of 1e2, 1.50
		`{"bio": "x", "city": "Oslo", "n": 1e2, "prefs": {"f": 15e-1, "theme": "dark"}}`,
	} {
		if got := canonicalJSON(form); got != want {
			t.Errorf("canonicalJSON(%s) = %s; want %s", form, got, want)
		}
	}
	if got := canonicalJSON("not json"); got != "not json" {
		t.Errorf("a text that is not JSON became %q", got)
	}
}
