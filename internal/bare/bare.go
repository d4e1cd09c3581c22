// Package bare is the baseline of kura's benchmarks: GET /api/users/{id}
// as a plain net/http handler running the same query through the same
// driver and pool as kura, and nothing else — no middleware, no service
// layer, no error mapping. bench/bare serves it for the load script, and
// the in-process benchmarks call it directly.
package bare

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// Handler returns the baseline handler over db's reader pool.
func Handler(db *sqldb.DB) http.Handler {
	query := "SELECT id, username, created_at FROM users WHERE id = ?"
	if db.Dialect() == sqldb.Postgres {
		query = "SELECT id, username, created_at FROM users WHERE id = $1"
	}
	reader := db.Reader()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/users/{id}", func(w http.ResponseWriter, r *http.Request) {
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
	return mux
}
