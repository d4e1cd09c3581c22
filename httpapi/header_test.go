package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHeader reads headers as Header.Get does, for the names the
// middleware reads, however the client spelled them.
func TestHeader(t *testing.T) {
	for _, key := range []string{RequestIDHeader, "Authorization", "Origin"} {
		if c := http.CanonicalHeaderKey(key); c != key {
			t.Errorf("%q is read by header but is not canonical (%q)", key, c)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("x-request-id", "a")
	r.Header.Add("X-REQUEST-ID", "b")
	r.Header.Set("authorization", "Bearer t")
	for _, key := range []string{RequestIDHeader, "Authorization", "Origin"} {
		if got, want := header(r, key), r.Header.Get(key); got != want {
			t.Errorf("header(%q) = %q, Header.Get = %q", key, got, want)
		}
	}
}
