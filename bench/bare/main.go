// Command bare is the baseline of kura's load benchmark: a bare net/http
// handler serving GET /api/users/{id} with the same query, the same driver
// and the same connection pool as kura, and nothing else — no middleware,
// no service layer, no error mapping. bench/load.sh runs it beside kura and
// reports kura's throughput as a ratio of this one's.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	query := "SELECT id, username, created_at FROM users WHERE id = ?"
	if db.Dialect() == sqldb.Postgres {
		query = "SELECT id, username, created_at FROM users WHERE id = $1"
	}
	reader := db.Reader()
	http.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		var u struct {
			ID        int64     `json:"id"`
			Username  string    `json:"username"`
			CreatedAt time.Time `json:"created_at"`
		}
		err = reader.QueryRowContext(r.Context(), query, id).Scan(&u.ID, &u.Username, &u.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		u.CreatedAt = u.CreatedAt.UTC()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u)
	})
	fmt.Fprintln(os.Stderr, "bare serving on", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
