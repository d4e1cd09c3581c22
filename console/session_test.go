package console

import "testing"

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"":                         Prefix,
		"/admin/users?after=x":     "/admin/users?after=x",
		"/admin/":                  "/admin/",
		"https://evil.example/x":   Prefix,
		"//evil.example/admin/":    Prefix,
		"/api/users":               Prefix,
		"/adminx":                  Prefix,
		"http://127.0.0.1/admin/":  Prefix,
		"/admin/../api/users/1":    Prefix,
		"javascript:alert(1)":      Prefix,
		"/admin/users/1?done=role": "/admin/users/1?done=role",
		"\\\\evil.example/admin/":  Prefix,
		"/\\evil.example/admin/":   Prefix,
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestCSRFToken(t *testing.T) {
	a, b := csrfToken("session-a"), csrfToken("session-b")
	if a == b || a != csrfToken("session-a") || len(a) != 43 {
		t.Fatalf("tokens %q and %q: want distinct, stable, 256-bit", a, b)
	}
}
