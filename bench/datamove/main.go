// Command datamove prepares and loads the benchmark of kura data move: a
// SQLite file of -users users, twice as many notifications and half as
// many sessions, seeded once in SQL (minutes for a million users), and,
// with -load, a steady stream of -rate writes per second through the HTTP
// API of a kura serve at -addr (each changes the username of one of
// -writers accounts, in turn), which counts the writes answered 2xx, 503
// and otherwise and, interrupted, checks with -check that the target
// holds every account's last write answered 2xx.
//
//	go run ./bench/datamove -url /tmp/kura-move.db -users 1000000
//	go run ./bench/datamove -load -addr 127.0.0.1:18080 -rate 50 -check postgres://…
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
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func main() {
	dbURL := flag.String("url", "/tmp/kura-move.db", "the SQLite database to seed")
	users := flag.Int("users", 1_000_000, "users (notifications: twice as many; sessions: half)")
	load := flag.Bool("load", false, "send writes to a kura serve instead of seeding")
	addr := flag.String("addr", "127.0.0.1:8080", "the kura serve that -load writes to")
	rate := flag.Int("rate", 50, "writes per second with -load")
	writers := flag.Int("writers", 20, "accounts the -load writes to, in turn")
	check := flag.String("check", "", "with -load, the target's URL: once interrupted, count the writes answered 2xx that it lacks")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *load {
		if err := runLoad(ctx, *addr, *rate, *writers, *check); err != nil {
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
	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema); err != nil {
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

// writer is one of the load's accounts: its token, and the last username
// a write of it set that was answered 2xx.
type writer struct {
	id    int64
	token string
	mu    sync.Mutex
	acked int // the number of the last write answered 2xx; -1: none
}

// runLoad makes -writers accounts, then changes one account's username
// every 1/rate seconds (a PATCH, no password hashing) until interrupted,
// and prints what was answered. With -check, it then reads the target and
// counts the writes answered 2xx whose result is not there: lost.
func runLoad(ctx context.Context, addr string, rate, writers int, check string) error {
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ws := make([]*writer, writers)
	for i := range ws {
		w, err := newWriter(client, base, fmt.Sprintf("w%s-%d", run, i))
		if err != nil {
			return err
		}
		ws[i] = w
	}
	var ok, unavailable, other, failed atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
loop:
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		w := ws[i%len(ws)]
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			code, err := w.patch(client, base, fmt.Sprintf("u%s-%d", run, i))
			switch {
			case err != nil:
				failed.Add(1)
			case code/100 == 2:
				ok.Add(1)
				w.mu.Lock()
				w.acked = max(w.acked, i)
				w.mu.Unlock()
			case code == http.StatusServiceUnavailable:
				unavailable.Add(1)
			default:
				other.Add(1)
			}
		}(i)
	}
	wg.Wait()
	fmt.Printf("load: %s, writes answered 2xx %d, 503 %d, other %d, failed %d\n",
		time.Since(start).Round(time.Second), ok.Load(), unavailable.Load(), other.Load(), failed.Load())
	if check == "" {
		return nil
	}
	return checkLost(check, run, ws)
}

func newWriter(client *http.Client, base, name string) (*writer, error) {
	body, _ := json.Marshal(map[string]string{"email": name + "@example.com", "username": name, "password": "a long enough password"})
	resp, err := client.Post(base+"/api/users", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var u struct {
		ID int64 `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("register %s: %s %v", name, resp.Status, err)
	}
	body, _ = json.Marshal(map[string]string{"login": name, "password": "a long enough password"})
	resp, err = client.Post(base+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Token == "" {
		return nil, fmt.Errorf("log in %s: %s %v", name, resp.Status, err)
	}
	return &writer{id: u.ID, token: s.Token, acked: -1}, nil
}

func (w *writer) patch(client *http.Client, base, username string) (int, error) {
	body, _ := json.Marshal(map[string]string{"username": username})
	req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/api/users/%d", base, w.id), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// checkLost counts the accounts whose last write answered 2xx is not what
// the target holds.
func checkLost(url, run string, ws []*writer) error {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url})
	if err != nil {
		return err
	}
	defer db.Close()
	lost := 0
	for _, w := range ws {
		var name string
		if err := db.Reader().QueryRowContext(ctx, db.Rebind(`SELECT username FROM users WHERE id = ?`), w.id).Scan(&name); err != nil {
			return fmt.Errorf("user %d on the target: %w", w.id, err)
		}
		if w.acked >= 0 && name != fmt.Sprintf("u%s-%d", run, w.acked) {
			lost++
		}
	}
	fmt.Printf("writes lost on the target: %d (of %d accounts' last acknowledged writes)\n", lost, len(ws))
	return nil
}
