// Command bare serves the baseline of kura's load benchmark (package
// internal/bare: the same query by hand, with a pool of its own) on
// DATABASE_URL; bench/load.sh runs it beside kura and reports kura's
// throughput as a ratio of this one's. With -const it serves constant JSON
// instead: the ceiling of net/http on this machine.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/bare"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	constant := flag.Bool("const", false, "serve constant JSON without a database (the HTTP ceiling)")
	flag.Parse()
	if *constant {
		body := []byte(`{"id":1,"username":"user1","created_at":"2026-01-01T00:00:00Z"}` + "\n")
		fmt.Fprintln(os.Stderr, "constant JSON on", *addr)
		log.Fatal(server(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})).ListenAndServe())
	}
	s, err := bare.Open(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Fprintln(os.Stderr, "bare serving on", *addr)
	log.Fatal(server(*addr, s.Handler()).ListenAndServe())
}

// server is the http.Server a careful engineer runs in production: with
// the same timeouts as kura's (a server without them can be held open by
// slow clients), so that both sides pay for the same deadlines.
func server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: httpapi.DefaultReadHeaderTimeout,
		ReadTimeout:       httpapi.DefaultReadTimeout,
		WriteTimeout:      httpapi.DefaultWriteTimeout,
		IdleTimeout:       httpapi.DefaultIdleTimeout,
	}
}
