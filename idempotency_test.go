package kura_test

import (
	"strings"
	"testing"

	"github.com/kura-dev/kura"
)

func TestValidIdempotencyKey(t *testing.T) {
	for key, want := range map[string]bool{
		"":                       false,
		"a":                      true,
		"9b2f0c1e-uuid-like":     true,
		" spaced key ~!":         true,
		strings.Repeat("x", 255): true,
		strings.Repeat("x", 256): false,
		"tab\there":              false,
		"nul\x00":                false,
		"del\x7f":                false,
		"clé":                    false,
		"line\nbreak":            false,
	} {
		if got := kura.ValidIdempotencyKey(key); got != want {
			t.Errorf("ValidIdempotencyKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// FuzzValidIdempotencyKey: a key accepted is 1 to 255 bytes of printable
// ASCII, and every such key is accepted.
func FuzzValidIdempotencyKey(f *testing.F) {
	for _, s := range []string{"a", "", "\x00", "é", strings.Repeat("~", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		printable := len(key) >= 1 && len(key) <= kura.MaxIdempotencyKey
		for i := 0; i < len(key); i++ {
			printable = printable && key[i] >= 0x20 && key[i] <= 0x7e
		}
		if got := kura.ValidIdempotencyKey(key); got != printable {
			t.Fatalf("ValidIdempotencyKey(%q) = %v, want %v", key, got, printable)
		}
	})
}
