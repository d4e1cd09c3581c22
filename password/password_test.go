package password

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestHash_RoundTrip(t *testing.T) {
	h, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding %q", h)
	}
	if ok, err := Verify("correct horse battery staple", h); err != nil || !ok {
		t.Fatalf("Verify(right) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := Verify("correct horse battery stapler", h); err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	h2, _ := Hash("correct horse battery staple")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerify_ParamsFromString(t *testing.T) {
	// A hash made with other parameters must still verify.
	salt := []byte("0123456789abcdef")
	p := params{memory: 1024, time: 1, threads: 2}
	key, _ := derive(context.Background(), "pw-old-params", salt, p, 24)
	enc := encode(p, salt, key)
	if ok, err := Verify("pw-old-params", enc); err != nil || !ok {
		t.Fatalf("Verify(%q) = %v, %v; want true, nil", enc, ok, err)
	}
	if ok, _ := Verify("other", enc); ok {
		t.Fatal("wrong password verified")
	}
}

func TestVerify_Malformed(t *testing.T) {
	good, _ := Hash("password1")
	parts := strings.Split(good, "$")
	tests := map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuu5n7N3ZLh0yvQ5Cq3v9yF0o2Fq8Fzk5y",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"version":       strings.Replace(good, "v=19", "v=16", 1),
		"no key":        strings.Join(parts[:5], "$"),
		"extra part":    good + "$x",
		"bad salt":      strings.Replace(good, parts[4], "!!!!", 1),
		"short key":     strings.Replace(good, parts[5], "AAAA", 1),
		"zero time":     strings.Replace(good, "t=2", "t=0", 1),
		"huge memory":   strings.Replace(good, "m=19456", "m=99999999", 1),
		"signed param":  strings.Replace(good, "p=1", "p=+1", 1),
		"params order":  strings.Replace(good, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1),
		"memory < 8*p":  strings.Replace(good, "m=19456,t=2,p=1", "m=8,t=1,p=2", 1),
		"padded base64": strings.Replace(good, parts[4], parts[4]+"==", 1),
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := Verify("password1", enc)
			if ok || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) = %v, %v; want false, ErrMalformed", enc, ok, err)
			}
		})
	}
}

func TestVerifyDummy(t *testing.T) {
	VerifyDummy("anything") // must neither panic nor fail
	if ok, err := Verify("anything", dummyHash()); err != nil || ok {
		t.Fatalf("dummy hash verified a guess: %v, %v", ok, err)
	}
}

func TestHashContext_Canceled(t *testing.T) {
	// Fill every slot, then a canceled context must give up instead of waiting.
	for range cap(sem) {
		sem <- struct{}{}
	}
	defer func() {
		for range cap(sem) {
			<-sem
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := HashContext(ctx, "password1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("HashContext = %v; want context.Canceled", err)
	}
}

func FuzzVerify(f *testing.F) {
	good, _ := Hash("password1")
	f.Add("password1", good)
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5aw")
	f.Add("x", "$argon2id$v=19$m=,t=1,p=1$$")
	f.Add("", "$$$$$")
	f.Fuzz(func(t *testing.T, pw, enc string) {
		p, salt, key, err := decode(enc)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			return
		}
		// A string that parses must re-encode to something that parses the same.
		p2, salt2, key2, err := decode(encode(p, salt, key))
		if err != nil || p2 != p || string(salt2) != string(salt) || string(key2) != string(key) {
			t.Fatalf("re-encoding %q does not round-trip: %v", enc, err)
		}
		if p.memory <= 4096 && p.time <= 2 { // keep each run cheap
			if _, err := Verify(pw, enc); err != nil {
				t.Fatalf("Verify(%q) = %v after decode succeeded", enc, err)
			}
		}
	})
}
