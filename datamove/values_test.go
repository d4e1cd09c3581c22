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
