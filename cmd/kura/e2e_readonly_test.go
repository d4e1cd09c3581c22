package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

// TestCLI_ReadOnly: the commands that write users or steer jobs refuse to
// run while read-only mode is on, saying why, and run once it is off;
// status says on, with the reason, as text and as JSON; on fails at
// --wait, naming the instance that did not acknowledge, and the mode
// stays on.
func TestCLI_ReadOnly(t *testing.T) {
	env := []string{"DATABASE_URL=sqlite:" + t.TempDir() + "/kura.db", passwordEnv + "=a long enough password"}
	create := []string{"users", "create", "--email", "ann@example.com", "--username", "ann"}
	if _, logs, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatalf("migrate up: %v\n%s", err, logs)
	}
	if _, logs, err := runKura(t, env, "", "db", "read-only", "on", "--reason", "moving the data"); err != nil {
		t.Fatalf("kura db read-only on: %v\n%s", err, logs)
	}
	for _, args := range [][]string{create, {"users", "seed", "--count", "3"}, {"jobs", "retry", "1"}} {
		_, _, err := runKura(t, env, "", args...)
		if err == nil || !strings.Contains(err.Error(), "read-only mode is on (moving the data)") {
			t.Errorf("kura %s in read-only mode: %v", strings.Join(args, " "), err)
		}
	}
	out, _, err := runKura(t, env, "", "db", "read-only", "status")
	if err != nil || !strings.Contains(out, "on (generation 1") || !strings.Contains(out, "moving the data") {
		t.Errorf("status: %v\n%s", err, out)
	}
	out, _, err = runKura(t, env, "", "db", "read-only", "off", "--json")
	var st sqldb.ReadOnlyState
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.On || st.Generation != 2 {
		t.Errorf("off --json: %v\n%s", err, out)
	}
	if _, logs, err := runKura(t, env, "", create...); err != nil {
		t.Errorf("users create once off: %v\n%s", err, logs)
	}
	if _, _, err := runKura(t, env, "", "db", "read-only", "on", "--wait", "0s"); !isUsage(err) {
		t.Errorf("--wait 0s: %v, want a usage error", err)
	}

	// An instance seen lately that never acknowledges: on fails at --wait,
	// naming it, and the mode stays on.
	db := openShared(t, strings.TrimPrefix(env[0], "DATABASE_URL="))
	stale := sqldb.Instance{ID: "stale", Hostname: "web-9", PID: 4242, Addr: "http://10.0.0.9:8080", Version: "0.0.1", Started: time.Now()}
	if err := db.Announce(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	_, _, err = runKura(t, env, "", "db", "read-only", "on", "--wait", "300ms")
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "web-9 pid 4242 on http://10.0.0.9:8080") ||
		!strings.Contains(err.Error(), "stays on") || !strings.Contains(err.Error(), "--wait 300ms") {
		t.Errorf("on with an instance that does not acknowledge: %v", err)
	}
	out, _, err = runKura(t, env, "", "db", "read-only", "status", "--json")
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.On || len(st.Waiting) != 1 || st.Waiting[0].PID != 4242 {
		t.Errorf("status --json after the timeout: %v\n%s", err, out)
	}
}

// TestWorker_ReadOnly: a kura worker started while read-only mode is on
// acknowledges it and works no job; once the mode is off it works them.
func TestWorker_ReadOnly(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "KURA_WORKERS=0", "KURA_JOB_POLL_INTERVAL=100ms", noRateLimits}
		s := startKura(t, env...)
		registerUsers(t, s, "frozen", 3)
		if _, logs, err := runKura(t, env, "", "db", "read-only", "on", "--wait", "30s"); err != nil {
			t.Fatalf("kura db read-only on: %v\n%s", err, logs)
		}
		jc, _ := jobsOf(t, dbURL)
		db := openShared(t, dbURL)

		logs := &syncBuffer{}
		m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Environ: append([]string{noMetricsListener, noBackups}, env...)}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- m.Run(ctx, []string{"worker", "--env-file="}) }()
		defer func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("worker: %v\n%s", err, logs.String())
			}
		}()
		testenv.Wait(t, 0, "the worker to acknowledge read-only mode", func() bool {
			st, err := db.ReadOnlyState(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(st.Acknowledged, func(i sqldb.InstanceAck) bool { return i.Addr == "worker" })
		})
		// Ten of the worker's job polls: none takes a job.
		if err := testenv.WaitErr(time.Second, func() bool { return byState(deliveries(t, jc))[jobs.StateAvailable] != 3 }); err == nil {
			t.Fatalf("a worker in read-only mode worked jobs: %v", byState(deliveries(t, jc)))
		}
		if _, logs, err := runKura(t, env, "", "db", "read-only", "off"); err != nil {
			t.Fatalf("kura db read-only off: %v\n%s", err, logs)
		}
		waitJobs(t, jc, 30*time.Second, "all completed by the worker once the mode is off", allCompleted(3))
	})
}

// TestE2E_ReadOnly runs two kura serve on one database under a steady 50
// writes a second spread over both, and turns read-only mode on with kura
// db read-only on: once the command has returned, no write is
// acknowledged (every one answers 503 read_only with Retry-After 5) while
// reads, /health and /metrics are served by both and say so; every write
// acknowledged before is in the database, and nothing changes there until
// kura db read-only off, after which both accept writes again. A third
// server started meanwhile starts read-only.
func TestE2E_ReadOnly(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		const token = "read-only-metrics-token-0123456789"
		env := []string{"DATABASE_URL=" + dbURL, noRateLimits, "CACHE_TTL=0", "KURA_METRICS_TOKEN=" + token}
		a, b := startKura(t, env...), startKura(t, env...)
		servers := []*server{a, b}

		// Four writers, each renaming its own user in turn on a and on b,
		// 12.5 times a second: 50 writes a second in all.
		const writers = 4
		ids, tokens := make([]int64, writers), make([]string, writers)
		for i := range writers {
			name := fmt.Sprintf("writer%d", i)
			ids[i] = register(t, servers[i%2], name+"@example.com", name).id()
			tokens[i] = login(t, servers[i%2], name, "correct horse battery")
		}
		log := &writeLog{}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log.drive(ctx, servers, i, ids[i], tokens[i], 80*time.Millisecond)
			}()
		}
		defer func() { stop(); wg.Wait() }()
		testenv.Wait(t, 0, "20 writes acknowledged", func() bool { return log.acked(time.Time{}) >= 20 })

		began := time.Now()
		_, logs, err := runKura(t, env, "", "db", "read-only", "on", "--reason", "e2e test", "--wait", "30s")
		if err != nil {
			t.Fatalf("kura db read-only on: %v\n%s", err, logs)
		}
		returned := time.Now()
		db := openShared(t, dbURL)
		names, notes := namesOf(t, db, ids), countRows(t, db, "notifications")
		testenv.Wait(t, 0, "40 writes sent after the command returned", func() bool { return log.sentAfter(returned) >= 40 })

		for _, s := range servers {
			for _, w := range []struct{ method, path, token string }{
				{"POST", "/api/users", ""}, {"POST", "/api/auth/login", ""}, {"POST", "/api/auth/logout", tokens[0]},
				{"DELETE", fmt.Sprintf("/api/users/%d", ids[0]), tokens[0]},
			} {
				r := s.do(t, w.method, w.path, w.token, map[string]string{"login": "writer0", "password": "correct horse battery"})
				if r.Status != http.StatusServiceUnavailable || r.errorField("code") != "read_only" || r.Header.Get("Retry-After") != "5" {
					t.Errorf("%s %s in read-only mode: %d %s (Retry-After %q)", w.method, w.path, r.Status, r.Raw, r.Header.Get("Retry-After"))
				}
			}
			for _, get := range []struct{ path, token string }{{fmt.Sprintf("/api/users/%d", ids[1]), ""}, {"/api/users/me", tokens[1]}} {
				testenv.Wait(t, 0, "GET "+get.path+" answered 200 in read-only mode", func() bool {
					return s.do(t, "GET", get.path, get.token, nil).Status == http.StatusOK
				})
			}
			// 200 healthy with read_only on (a SQLite pool loaded by the
			// parallel tests may answer "busy" for a moment).
			wantHealth(t, s, "on")
			if m := scrapeMetrics(t, s, token); !strings.Contains(m, "\nkura_read_only 1\n") {
				t.Errorf("/metrics in read-only mode has no kura_read_only 1")
			}
		}
		// A server that starts while the mode is on starts read-only.
		c := startKura(t, env...)
		servers = append(servers, c)
		r := c.do(t, "PATCH", fmt.Sprintf("/api/users/%d", ids[2]), tokens[2], map[string]string{"username": "late"})
		if r.Status != http.StatusServiceUnavailable || r.errorField("code") != "read_only" {
			t.Errorf("the first write to a server started in read-only mode: %d %s", r.Status, r.Raw)
		}
		wantHealth(t, c, "on")
		stop()
		wg.Wait()

		// No write was acknowledged once the command had returned, and
		// every write acknowledged before it is in the database, which has
		// not changed since.
		refused := 0
		for _, w := range log.all() {
			switch {
			case w.sent.After(returned) && w.status != http.StatusServiceUnavailable:
				t.Errorf("a write sent %s after the command returned answered %d", w.sent.Sub(returned), w.status)
			case w.sent.After(returned) && (w.code != "read_only" || w.retryAfter != "5"):
				t.Errorf("a refused write answered code %q, Retry-After %q", w.code, w.retryAfter)
			case w.sent.After(returned):
				refused++
			}
		}
		last := log.lastAcked()
		now := namesOf(t, db, ids)
		for i, id := range ids {
			if now[i] != last[i] || names[i] != last[i] {
				t.Errorf("user %d: the last acknowledged name is %q; the database had %q when the command returned and %q now", id, last[i], names[i], now[i])
			}
		}
		if n := countRows(t, db, "notifications"); n != notes {
			t.Errorf("%d notifications when the command returned, %d now: a job ran in read-only mode", notes, n)
		}
		t.Logf("%s: kura db read-only on took %s; %d writes acknowledged before it returned, %d refused after",
			dbURL[:strings.Index(dbURL, ":")], returned.Sub(began).Round(time.Millisecond), log.acked(time.Time{}), refused)

		if _, logs, err := runKura(t, env, "", "db", "read-only", "off"); err != nil {
			t.Fatalf("kura db read-only off: %v\n%s", err, logs)
		}
		for i, s := range servers {
			testenv.Wait(t, 0, "writes accepted again on "+s.URL, func() bool {
				r := s.do(t, "PATCH", fmt.Sprintf("/api/users/%d", ids[i]), tokens[i], map[string]string{"username": fmt.Sprintf("after%d", i)})
				return r.Status == http.StatusOK
			})
			wantHealth(t, s, "off")
		}
	})
}

// wantHealth waits until s's /health answers 200 "healthy" with
// read_only as want.
func wantHealth(t *testing.T, s *server, want string) {
	t.Helper()
	var last response
	if testenv.WaitErr(0, func() bool {
		last = s.do(t, "GET", "/health", "", nil)
		return last.Status == http.StatusOK && last.Body["status"] == "healthy" && last.Body["read_only"] == want
	}) != nil {
		t.Fatalf("/health never answered 200 healthy with read_only %q; last: %d %s", want, last.Status, last.Raw)
	}
}

// write is one request of a writer: when it was sent, and its answer.
type write struct {
	writer           int
	username         string
	sent             time.Time
	status           int
	code, retryAfter string
}

// writeLog records the writes of every writer.
type writeLog struct {
	mu     sync.Mutex
	writes []write
}

// drive renames user id every interval, on servers in turn, until ctx
// ends, recording each answer.
func (l *writeLog) drive(ctx context.Context, servers []*server, writer int, id int64, token string, interval time.Duration) {
	client := &http.Client{Timeout: 30 * time.Second}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w := write{writer: writer, username: fmt.Sprintf("w%d-%d", writer, seq)}
		body, _ := json.Marshal(map[string]string{"username": w.username})
		req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/users/%d", servers[seq%len(servers)].URL, id), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		w.sent = time.Now()
		res, err := client.Do(req)
		if err != nil {
			w.status = -1
		} else {
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var e struct{ Error struct{ Code string } }
			json.Unmarshal(raw, &e)
			w.status, w.code, w.retryAfter = res.StatusCode, e.Error.Code, res.Header.Get("Retry-After")
		}
		l.mu.Lock()
		l.writes = append(l.writes, w)
		l.mu.Unlock()
	}
}

func (l *writeLog) all() []write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]write(nil), l.writes...)
}

// acked counts the writes answered 200 that were sent after since.
func (l *writeLog) acked(since time.Time) int {
	n := 0
	for _, w := range l.all() {
		if w.status == http.StatusOK && w.sent.After(since) {
			n++
		}
	}
	return n
}

// sentAfter counts the writes sent after t and answered.
func (l *writeLog) sentAfter(t time.Time) int {
	n := 0
	for _, w := range l.all() {
		if w.sent.After(t) {
			n++
		}
	}
	return n
}

// lastAcked returns, per writer, the last name a write acknowledged (each
// writer's writes go one after the other).
func (l *writeLog) lastAcked() map[int]string {
	last := map[int]string{}
	for _, w := range l.all() {
		if w.status == http.StatusOK {
			last[w.writer] = w.username
		}
	}
	return last
}

// openShared opens the database the servers share, for the test to read.
func openShared(t *testing.T, dbURL string) *sqldb.DB {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// namesOf returns the names of users ids, by their index.
func namesOf(t *testing.T, db *sqldb.DB, ids []int64) map[int]string {
	t.Helper()
	out := map[int]string{}
	for i, id := range ids {
		var name string
		if err := db.Reader().QueryRow(db.Rebind("SELECT username FROM users WHERE id = ?"), id).Scan(&name); err != nil {
			t.Fatal(err)
		}
		out[i] = name
	}
	return out
}

func countRows(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// scrapeMetrics returns the text of s's GET /metrics.
func scrapeMetrics(t *testing.T, s *server, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, raw)
	}
	return string(raw)
}

// TestReadOnly_WaitsForRunningJobs: kura db read-only on returns only once
// the jobs a kura serve process was running when it began have finished
// (within KURA_SHUTDOWN_TIMEOUT they finish rather than being handed
// back): none is running, both completed.
func TestReadOnly_WaitsForRunningJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "CACHE_TTL=0", "KURA_LOG_LEVEL=warn", noRateLimits,
			"KURA_JOB_POLL_INTERVAL=100ms", "KURA_SHUTDOWN_TIMEOUT=30s"}
		c := startChild(t, append(env, "KURA_WORKERS=2", "KURA_TEST_NOTIFY_DELAY=3s")...)
		registerUsers(t, c.srv, "slow", 2)
		jc, _ := jobsOf(t, dbURL)
		waitJobs(t, jc, 30*time.Second, "two running", func(rows []*jobs.Row) bool {
			return byState(rows)[jobs.StateRunning] == 2
		})
		begin := time.Now()
		if _, logs, err := runKura(t, env, "", "db", "read-only", "on", "--wait", "30s"); err != nil {
			t.Fatalf("kura db read-only on: %v\n%s", err, logs)
		}
		took := time.Since(begin)
		if s := byState(deliveries(t, jc)); s[jobs.StateRunning] != 0 || s[jobs.StateCompleted] != 2 {
			t.Fatalf("when kura db read-only on returned (after %s): jobs %v; want the two running ones completed", took, s)
		}
		t.Logf("kura db read-only on returned after %s, the running jobs completed", took.Round(time.Millisecond))
		if _, logs, err := runKura(t, env, "", "db", "read-only", "off"); err != nil {
			t.Fatalf("kura db read-only off: %v\n%s", err, logs)
		}
	})
}
