// Package password hashes and verifies passwords with argon2id.
//
// Hashes use the OWASP parameters (19 MiB of memory, 2 passes, 1 lane), a
// 16-byte random salt and a 32-byte key, encoded in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// Verify reads the parameters from the encoded string, so hashes made with
// older parameters keep verifying after the defaults change.
//
// Hashing is deliberately expensive in memory and time. At most
// runtime.NumCPU() hashes run at once in the process; further calls wait
// their turn (HashContext and VerifyContext give up when their context is
// done), so a burst of logins cannot exhaust memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Parameters of new hashes (OWASP password storage cheat sheet, argon2id).
const (
	Memory  = 19456 // KiB
	Time    = 2     // passes
	Threads = 1     // lanes
	SaltLen = 16    // bytes
	KeyLen  = 32    // bytes
)

// Bounds accepted when decoding a stored hash, so that a corrupted or hostile
// string cannot make Verify allocate gigabytes or spin for minutes.
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 16
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrMalformed is returned by Verify for a string that is not an argon2id
// PHC hash within the accepted bounds.
var ErrMalformed = errors.New("password: malformed argon2id hash")

var b64 = base64.RawStdEncoding

// sem bounds the number of argon2 computations running at once.
var sem = make(chan struct{}, runtime.NumCPU())

// params are the argon2id cost parameters of one hash.
type params struct {
	memory  uint32
	time    uint32
	threads uint8
}

// Hash returns the PHC-encoded argon2id hash of pw with a fresh random salt.
func Hash(pw string) (string, error) {
	return HashContext(context.Background(), pw)
}

// HashContext is Hash that gives up with ctx.Err() if ctx is done while it
// waits for a hashing slot.
func HashContext(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := params{memory: Memory, time: Time, threads: Threads}
	key, err := derive(ctx, pw, salt, p, KeyLen)
	if err != nil {
		return "", err
	}
	return encode(p, salt, key), nil
}

// Verify reports whether pw matches the encoded hash, comparing in constant
// time. It returns ErrMalformed (and false) for an encoded string it cannot
// parse.
func Verify(pw, encoded string) (bool, error) {
	return VerifyContext(context.Background(), pw, encoded)
}

// VerifyContext is Verify that gives up with ctx.Err() if ctx is done while
// it waits for a hashing slot.
func VerifyContext(ctx context.Context, pw, encoded string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got, err := derive(ctx, pw, salt, p, uint32(len(key)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummyHash is a valid hash at the current parameters of a password nobody
// knows, made once on first use.
var dummyHash = sync.OnceValue(func() string {
	h, err := Hash("dummy password for timing equalisation")
	if err != nil {
		panic(err) // only if the system random source fails
	}
	return h
})

// VerifyDummy spends the time and memory of a real Verify and discards the
// result. Call it when a login names no known account, so that the response
// time does not reveal which logins exist.
func VerifyDummy(pw string) {
	_, _ = Verify(pw, dummyHash())
}

func derive(ctx context.Context, pw string, salt []byte, p params, keyLen uint32) ([]byte, error) {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-sem }()
	return argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, keyLen), nil
}

func encode(p params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses "$argon2id$v=19$m=M,t=T,p=P$salt$key" strictly.
func decode(s string) (p params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return p, nil, nil, ErrMalformed
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return p, nil, nil, ErrMalformed
	}
	m, okM := field(kv[0], "m=", maxMemory)
	t, okT := field(kv[1], "t=", maxTime)
	th, okP := field(kv[2], "p=", maxThreads)
	if !okM || !okT || !okP || m < 8*th {
		return p, nil, nil, ErrMalformed
	}
	p = params{memory: m, time: t, threads: uint8(th)}
	salt, err1 := b64.Strict().DecodeString(parts[4])
	key, err2 := b64.Strict().DecodeString(parts[5])
	if err1 != nil || err2 != nil ||
		len(salt) < minSaltLen || len(salt) > maxSaltLen || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

// field parses "name=N" with 1 <= N <= max.
func field(s, name string, max uint32) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(max) {
		return 0, false
	}
	return uint32(n), true
}
