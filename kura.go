// Package kura is the domain of the kura data backbone: users, sessions,
// notifications, pages of results, the services that manage them and the one
// coded error type that every layer speaks.
//
// The package imports only the standard library. Adapters implement its
// interfaces (sqldb for the engines) or consume them (httpapi for HTTP), and
// cmd/kura wires them together.
//
// # Where to start
//
// To run kura's users service, see the README (go run ./cmd/kura serve). To
// build an application of your own on kura's packages, read
// docs/BUILDING.md, which walks through examples/notes; then the package
// documentation of sqldb (the database: migrations, queries once for every
// engine, transactions, pages), jobs (background work in the write's
// transaction), cache (a two-tier cache coherent across instances) and
// httpapi (the server your routes are added to).
//
// # Errors
//
// Every layer speaks *Error: a code (EINVALID, ECONFLICT, ENOTFOUND,
// EUNAVAILABLE, ...), a message that is safe to show, per-field messages
// and the wrapped cause for logs. A store turns a driver's error into one
// (a unique violation into ECONFLICT naming the field), and httpapi turns
// the code into an HTTP status in one table; an error that is not an
// *Error is EINTERNAL, whose cause is logged and never shown. See
// ExampleError.
//
// # Pages
//
// Lists are newest first and come a Page at a time, chosen by ListOptions:
// by keyset cursor (Limit and Cursor; fast on deep pages, and rows added
// between two pages are neither skipped nor repeated) or by offset (Page
// and PerPage, with a Total).
package kura

import "context"

// Version is the version of kura, set at build time with
// -ldflags "-X github.com/kura-dev/kura.Version=v1.2.3".
var Version = "dev"

// Commit is the source commit kura was built from, set at build time
// (the Makefile's release target sets it, Version and BuildDate).
var Commit = ""

// BuildDate is when kura was built, in RFC 3339, set at build time.
var BuildDate = ""

// Pinger is anything that can prove it is reachable, such as a database pool.
type Pinger interface {
	Ping(ctx context.Context) error
}
