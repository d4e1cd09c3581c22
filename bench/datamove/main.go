// Command datamove prepares and loads the benchmark of kura data move: a
// SQLite file of -users users, twice as many notifications and half as
// many sessions, seeded once in SQL (minutes for a million users), and,
// with -load, a steady stream of -rate writes per second (registrations,
// through the HTTP API of a kura serve at -addr) that counts the writes
// answered 2xx, 503 and otherwise, and writes the ids of the users it
// created to -ids, so that the writes acknowledged can be looked up on
// the target after a cut-over.
//
//	go run ./bench/datamove -url /tmp/kura-move.db -users 1000000
//	go run ./bench/datamove -load -addr 127.0.0.1:8080 -rate 50 -ids /tmp/ids.txt
//
// bench/datamove/run.sh runs the whole benchmark: kura data move and
// pgloader on the same file, the freeze under load and the kill -9 reruns.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

func main() {
	dbURL := flag.String("url", "/tmp/kura-move.db", "the SQLite database to seed")
	users := flag.Int("users", 1_000_000, "users (notifications: twice as many; sessions: half)")
	load := flag.Bool("load", false, "send writes to a kura serve instead of seeding")
	addr := flag.String("addr", "127.0.0.1:8080", "the kura serve that -load writes to")
	rate := flag.Int("rate", 50, "writes per second with -load")
	ids := flag.String("ids", "", "with -load, the file that gets the id of each user a 2xx created")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *load {
		if err := runLoad(ctx, *addr, *rate, *ids); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := seed(ctx, *dbURL, *users); err != nil {
		log.Fatal(err)
	}
}

// seed makes the database and fills it in a few INSERT ... SELECTs.
func seed(ctx context.Context, url string, users int) error {
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url})
	if err != nil {
		return err
	}
	defer db.Close()
	if db.Dialect() != sqldb.SQLite {
		return fmt.Errorf("the benchmark's source is a SQLite file")
	}
	if err := db.MigrateUp(ctx, sqldb.Schema, jobs.Schema); err != nil {
		return err
	}
	var have int
	if err := db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&have); err != nil {
		return err
	}
	if have >= users {
		log.Printf("%s already holds %d users", url, have)
		return nil
	}
	start := time.Now()
	steps := []string{
		fmt.Sprintf(`INSERT INTO users (email, username, password_hash, role, created_at, updated_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT 'user' || i || '@example.com', 'user' || i,
			'$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$' || hex(randomblob(16)),
			CASE WHEN i %% 100 = 0 THEN 'admin' ELSE 'user' END,
			strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || (i * 7) || ' seconds'),
			strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || (i * 3) || ' seconds')
			FROM n`, users),
		fmt.Sprintf(`INSERT INTO notifications (user_id, kind, idempotency_key, message, created_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT (i - 1) %% %d + 1, CASE WHEN i %% 2 = 0 THEN 'welcome' ELSE 'digest' END, 'n:' || i,
			'Grüße, user ' || i || ': you have ' || (i %% 17) || ' new messages — 読んでください',
			strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || i || ' seconds')
			FROM n`, 2*users, users),
		fmt.Sprintf(`INSERT INTO sessions (user_id, token_hash, created_at, expires_at)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
			SELECT (i - 1) * 2 %% %d + 1, randomblob(32),
			strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '-' || i || ' seconds'),
			strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', '+' || i || ' seconds')
			FROM n`, users/2, users),
	}
	for _, q := range steps {
		if _, err := db.Writer().ExecContext(ctx, q); err != nil {
			return err
		}
	}
	log.Printf("seeded %d users, %d notifications, %d sessions in %s", users, 2*users, users/2, time.Since(start).Round(time.Second))
	return nil
}

// runLoad registers a user every 1/rate seconds until interrupted, and
// prints what was answered.
func runLoad(ctx context.Context, addr string, rate int, idsPath string) error {
	var out *os.File
	if idsPath != "" {
		f, err := os.Create(idsPath)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	var ok, unavailable, other, failed atomic.Int64
	var idsMu = make(chan struct{}, 1)
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	run := fmt.Sprint(time.Now().UnixNano())
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			time.Sleep(2 * time.Second) // let the last requests finish
			fmt.Printf("writes: 2xx %d, 503 %d, other %d, failed %d\n", ok.Load(), unavailable.Load(), other.Load(), failed.Load())
			return nil
		case <-tick.C:
		}
		go func(i int) {
			body, _ := json.Marshal(map[string]string{
				"email": fmt.Sprintf("load%s-%d@example.com", run, i), "username": fmt.Sprintf("l%s%d", run[len(run)-8:], i),
				"password": "a long enough password",
			})
			resp, err := client.Post("http://"+addr+"/api/users", "application/json", bytes.NewReader(body))
			if err != nil {
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				ok.Add(1)
				var u struct {
					ID int64 `json:"id"`
				}
				if json.NewDecoder(resp.Body).Decode(&u) == nil && out != nil {
					idsMu <- struct{}{}
					fmt.Fprintln(out, u.ID)
					<-idsMu
				}
			case resp.StatusCode == http.StatusServiceUnavailable:
				unavailable.Add(1)
			default:
				other.Add(1)
			}
		}(i)
	}
}
