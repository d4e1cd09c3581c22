// Package kura is the domain of the kura data backbone: users, sessions,
// notifications, pages of results, the services that manage them and the one
// coded error type that every layer speaks.
//
// The package imports only the standard library. Adapters implement its
// interfaces (sqldb for the engines) or consume them (httpapi for HTTP), and
// cmd/kura wires them together.
package kura

import "context"

// Version is the version of kura, set at build time with
// -ldflags "-X github.com/kura-dev/kura.Version=v1.2.3".
var Version = "dev"

// Commit is the source commit kura was built from, set at build time.
var Commit = ""

// Pinger is anything that can prove it is reachable, such as a database pool.
type Pinger interface {
	Ping(ctx context.Context) error
}
