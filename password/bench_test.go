package password_test

import (
	"testing"

	"github.com/kura-dev/kura/password"
)

// BenchmarkVerify measures one login's password check at the OWASP
// parameters, against VerifyDummy, which an unknown login pays instead: the
// two should cost the same, so timing does not tell which logins exist.
//
//	go test -run '^$' -bench Verify -benchmem ./password/
func BenchmarkVerify(b *testing.B) {
	enc, err := password.Hash("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("real", func(b *testing.B) {
		for b.Loop() {
			if ok, err := password.Verify("wrong horse battery", enc); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("dummy", func(b *testing.B) {
		for b.Loop() {
			password.VerifyDummy("wrong horse battery")
		}
	})
}
