package kura

import (
	"context"
	"time"
)

// IdempotencyTTL is how long the answer to a write sent with an
// idempotency key is kept: a retry with the same key within it gets the
// first answer; after it the key is free again and the row is deleted by
// the housekeeping job.
const IdempotencyTTL = 24 * time.Hour

// MaxIdempotencyKey is the longest idempotency key, in bytes.
const MaxIdempotencyKey = 255

// ValidIdempotencyKey reports whether key is 1 to MaxIdempotencyKey
// printable ASCII characters (space to tilde), the form of an HTTP
// structured-field string.
func ValidIdempotencyKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

// StoredResponse is the answer to a write, kept under its idempotency key
// to be answered again to a retry.
type StoredResponse struct {
	Status int
	// Header holds the headers that matter to a client (Content-Type,
	// Location, Retry-After, Cache-Control), by canonical name.
	Header map[string]string
	Body   []byte
}

// IdempotencyClaim is the outcome of claiming an idempotency key. Exactly
// one of these holds: Owned (the caller runs the write, then Completes or
// Releases the claim), Response != nil (a first request with the same
// fingerprint has finished: answer its response), Mismatch (the key was
// used for another request), or none of them (a first request with the
// same fingerprint is running: wait and claim again).
type IdempotencyClaim struct {
	Scope, Key string
	// Token tells this claim from an earlier one taken over, when Owned.
	Token    string
	Owned    bool
	Response *StoredResponse
	Mismatch bool
}

// IdempotencyStore keeps the answers of writes by (scope, key), for every
// instance that shares it. A scope is whoever sent the request (a user, or
// the address of an anonymous client), so that nobody can replay another's
// answer.
type IdempotencyStore interface {
	// ClaimIdempotencyKey claims key in scope for a request whose method,
	// path and body hash to fingerprint, in one atomic step: of concurrent
	// callers, one owns it. A key whose first request is older than
	// IdempotencyTTL is claimed afresh; a claim left unfinished for lease
	// (its process died) is taken over. Errors: EUNAVAILABLE.
	ClaimIdempotencyKey(ctx context.Context, scope, key string, fingerprint []byte, lease time.Duration) (*IdempotencyClaim, error)

	// CompleteIdempotencyKey stores resp as the answer of an owned claim.
	// A claim taken over meanwhile is left to its new owner. Errors:
	// EUNAVAILABLE.
	CompleteIdempotencyKey(ctx context.Context, c *IdempotencyClaim, resp *StoredResponse) error

	// ReleaseIdempotencyKey gives up an owned claim without an answer,
	// so that a retry runs the write. Errors: EUNAVAILABLE.
	ReleaseIdempotencyKey(ctx context.Context, c *IdempotencyClaim) error

	// DeleteExpiredIdempotencyKeys deletes the keys whose first request is
	// older than IdempotencyTTL and returns how many. Errors: EUNAVAILABLE.
	DeleteExpiredIdempotencyKeys(ctx context.Context) (int64, error)
}
