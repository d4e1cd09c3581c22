// Command bare serves the baseline of kura's load benchmark (package
// internal/bare) on DATABASE_URL; bench/load.sh runs it beside kura and
// reports kura's throughput as a ratio of this one's.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/kura-dev/kura/internal/bare"
	"github.com/kura-dev/kura/sqldb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	fmt.Fprintln(os.Stderr, "bare serving on", *addr)
	log.Fatal(http.ListenAndServe(*addr, bare.Handler(db)))
}
