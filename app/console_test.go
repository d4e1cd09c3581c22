package app

import "testing"

// TestConsole_SecureCookieOffLoopback checks that the cookie is Secure when
// kura listens beyond loopback.
func TestConsole_SecureCookieOffLoopback(t *testing.T) {
	if loopback("0.0.0.0:8080") || loopback(":8080") || loopback("192.0.2.1:80") || !loopback("127.0.0.1:0") || !loopback("[::1]:80") || !loopback("localhost:80") {
		t.Fatal("loopback misjudges an address")
	}
}
