package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// TestMain lets a test run this test binary as a real kura process: with
// KURA_TEST_CHILD=1 it is `kura` with the arguments given, whose
// notifications take KURA_TEST_NOTIFY_DELAY to deliver, so that a test can
// kill it while jobs run. Otherwise it runs the tests, and fails them if
// they leave goroutines behind.
func TestMain(m *testing.M) {
	if os.Getenv("KURA_TEST_CHILD") == "1" {
		os.Exit(childMain())
	}
	testenv.VerifyNoLeaks(m)
}

func childMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	delay, _ := time.ParseDuration(os.Getenv("KURA_TEST_NOTIFY_DELAY"))
	m := &Main{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Listening: func(url string) { fmt.Println("LISTENING", url) },
		Notifier:  func(next kura.Notifier) kura.Notifier { return slowNotifier{next, delay} },
	}
	return exitCode(m.Run(ctx, os.Args[1:]), os.Stderr)
}

// slowNotifier is a notifier that takes a while, as an email would.
type slowNotifier struct {
	next  kura.Notifier
	delay time.Duration
}

func (s slowNotifier) Notify(ctx context.Context, n *kura.Notification) error {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.next.Notify(ctx, n)
}

// child is a kura serve process.
type child struct {
	cmd    *exec.Cmd
	srv    *server
	exited chan struct{} // closed when the process has exited
	err    error         // its exit error, once exited
}

// startChild starts `kura serve` as a process with the environment env
// (and nothing else of this process's) and waits until it listens.
func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--env-file=", "--addr", "127.0.0.1:0")
	cmd.Env = append([]string{"KURA_TEST_CHILD=1", "PATH=" + os.Getenv("PATH"), noDrainDelay, noMetricsListener, noBackups}, env...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	url := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
				url <- u
			}
		}
	}()
	go func() { c.err = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.exited
		if t.Failed() {
			t.Logf("kura serve logs:\n%s", logs.String())
		}
	})
	select {
	case u := <-url:
		c.srv = &server{URL: u, logs: logs, client: openapitest.Client(t)}
		return c
	case <-c.exited:
		t.Fatalf("kura serve exited at start: %v\n%s", c.err, logs.String())
	case <-time.After(time.Minute):
		t.Fatalf("kura serve did not listen within a minute\n%s", logs.String())
	}
	return nil
}

// jobsOf opens the database of a test's kura processes, for the test to
// inspect their jobs and notifications.
func jobsOf(t *testing.T, dbURL string) (*jobs.Client, *store.NotificationService) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	jc, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return jc, store.NewNotificationService(db)
}

// deliveries returns the welcome delivery jobs.
func deliveries(t *testing.T, jc *jobs.Client) []*jobs.Row {
	t.Helper()
	rows, err := jc.List(context.Background(), jobs.ListOptions{Kinds: []string{notify.Args{}.Kind()}})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func byState(rows []*jobs.Row) map[jobs.State]int {
	m := map[jobs.State]int{}
	for _, r := range rows {
		m[r.State]++
	}
	return m
}

// waitJobs waits until ok holds for the delivery jobs, and returns them.
func waitJobs(t *testing.T, jc *jobs.Client, timeout time.Duration, what string, ok func(rows []*jobs.Row) bool) []*jobs.Row {
	t.Helper()
	var rows []*jobs.Row
	if testenv.WaitErr(timeout, func() bool { rows = deliveries(t, jc); return ok(rows) }) != nil {
		t.Fatalf("after %s, not %s: delivery jobs by state %v", timeout, what, byState(rows))
	}
	return rows
}

// registerUsers registers n users and returns their ids.
func registerUsers(t *testing.T, s *server, prefix string, n int) []int64 {
	ids := make([]int64, n)
	for i := range n {
		name := fmt.Sprintf("%s%02d", prefix, i)
		ids[i] = register(t, s, name+"@example.com", name).id()
	}
	return ids
}

// wantOneWelcomeEach checks that every user has exactly one notification,
// the welcome one.
func wantOneWelcomeEach(t *testing.T, store kura.NotificationService, ids []int64) {
	t.Helper()
	for _, id := range ids {
		l, err := store.ListNotifications(context.Background(), id, kura.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Kind != "welcome" {
			t.Errorf("user %d has %d notifications, want one welcome", id, len(l.Items))
		}
	}
}

func allCompleted(n int) func([]*jobs.Row) bool {
	return func(rows []*jobs.Row) bool { return byState(rows)[jobs.StateCompleted] == n }
}

// TestCrash_NothingLost kills a real kura serve with SIGKILL while users
// register and their welcome notifications are delivered (slowly, so that
// some deliveries run and others wait), and starts it again with the
// default KURA_JOB_RESCUE_AFTER, an hour. Within 90 seconds of the restart
// every user has exactly one welcome notification: the new process sees
// that the dead one's heartbeat stopped and releases its running
// deliveries, which run again, and the notifications' idempotency key
// makes a rerun whose first run had stored the notification store
// nothing.
func TestCrash_NothingLost(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "CACHE_TTL=0", "KURA_LOG_LEVEL=info", "KURA_RATE_LIMIT=false", "KURA_JOB_POLL_INTERVAL=100ms"}
		// Deliveries slow enough for a queue to build however slowly a
		// busy machine registers (a password hash each).
		first := startChild(t, append(env, "KURA_WORKERS=2", "KURA_TEST_NOTIFY_DELAY=5s")...)
		jc, store := jobsOf(t, dbURL)
		load := startRegistering(first.srv.URL, "crash", 4)
		waitJobs(t, jc, 2*time.Minute, "20 users, deliveries running and queued", func(rows []*jobs.Row) bool {
			s := byState(rows)
			return len(rows) >= 20 && s[jobs.StateRunning] > 0 && s[jobs.StateAvailable] > 0
		})
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-first.exited
		before := load.stop()
		atKill := byState(deliveries(t, jc))
		t.Logf("killed with %d users registered and delivery jobs %v", len(before), atKill)
		if atKill[jobs.StateRunning] == 0 {
			t.Fatal("no job was running when the process died")
		}

		restart := time.Now()
		second := startChild(t, append(env, "KURA_WORKERS=8", "KURA_TEST_NOTIFY_DELAY=10ms")...)
		after := registerUsers(t, second.srv, "after", 3)
		// Every user the database has: those whose registration answered,
		// and any whose request the kill cut off after it committed.
		users := userIDs(t, dbURL)
		for _, id := range append(before, after...) {
			if !slices.Contains(users, id) {
				t.Fatalf("user %d, whose registration succeeded, is missing", id)
			}
		}
		rows := waitJobs(t, jc, time.Until(restart.Add(90*time.Second)), "all completed within 90s of the restart", allCompleted(len(users)))
		took := time.Since(restart)
		wantOneWelcomeEach(t, store, users)
		interrupted := 0
		for _, r := range rows {
			if r.Attempt > 1 && strings.Contains(r.LastError(), "interrupted") {
				interrupted++
			}
		}
		if interrupted != atKill[jobs.StateRunning] {
			t.Errorf("%d deliveries ran again after an interrupted attempt, but %d were running at the kill", interrupted, atKill[jobs.StateRunning])
		}
		if !strings.Contains(second.srv.logs.String(), "released the running jobs of a process that stopped beating") {
			t.Errorf("the new process did not say it released the dead one's jobs:\n%s", second.srv.logs.String())
		}
		t.Logf("%d users; every welcome delivered %s after the restart; %d interrupted deliveries ran again, %d of them finding their notification already stored",
			len(users), took.Round(100*time.Millisecond), interrupted, strings.Count(second.srv.logs.String(), "notification already delivered"))
	})
}

// TestJobs_RetryAndCancelRunningJobs drives kura jobs retry and cancel on
// the running deliveries of a kura serve: retry refuses while the process
// lives, and cancel has the process end the job; once it is killed, and
// its heartbeat has expired with no other process to release its jobs,
// retry and cancel release and act on them.
// A job that has finished cannot be cancelled, and a missing one is not
// found, each with exit status 1.
func TestJobs_RetryAndCancelRunningJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		env := []string{"DATABASE_URL=" + dbURL, "KURA_JOB_POLL_INTERVAL=100ms"}
		srv := startChild(t, append(env, "KURA_WORKERS=3", "KURA_TEST_NOTIFY_DELAY=10m")...)
		registerUsers(t, srv.srv, "steer", 4)
		jc, _ := jobsOf(t, dbURL)
		rows := waitJobs(t, jc, 30*time.Second, "three running", func(rows []*jobs.Row) bool {
			return len(rows) == 4 && byState(rows)[jobs.StateRunning] == 3
		})
		var running []*jobs.Row
		var queued *jobs.Row
		for _, r := range rows {
			if r.State == jobs.StateRunning {
				running = append(running, r)
			} else {
				queued = r
			}
		}
		steer := func(action string, id int64) (string, error) {
			t.Helper()
			out, _, err := runKura(t, env, "", "jobs", action, strconv.FormatInt(id, 10))
			return out, err
		}
		wantRefused := func(what string, err error, code, text string) {
			t.Helper()
			if kura.ErrorCode(err) != code || !strings.Contains(err.Error(), text) || exitCode(err, io.Discard) != 1 {
				t.Errorf("%s: %v (exit %d); want %s, saying %q, exit 1", what, err, exitCode(err, io.Discard), code, text)
			}
		}

		_, err := steer("retry", running[0].ID)
		host, _ := os.Hostname()
		wantRefused("retry of a job running on a live process", err, kura.ECONFLICT, "is running on "+host)
		if out, err := steer("cancel", queued.ID); err != nil || !strings.Contains(out, "cancelled") {
			t.Errorf("cancel of a queued job: %v\n%s", err, out)
		}
		_, err = steer("cancel", queued.ID)
		wantRefused("cancel of a cancelled job", err, kura.ECONFLICT, "has finished: it is cancelled")
		// A live process's running job is cancelled by its process.
		live := running[2]
		if out, err := steer("cancel", live.ID); err != nil || !strings.Contains(out, "cancel") {
			t.Errorf("cancel of a job running on a live process: %v\n%s", err, out)
		}
		testenv.Wait(t, 0, "the live process to end the cancelled job", func() bool {
			r, err := jc.Get(ctx, live.ID)
			return err == nil && r.State == jobs.StateCancelled
		})
		running = running[:2]

		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.exited
		testenv.Wait(t, time.Minute, "the killed process's heartbeat to expire", func() bool {
			h, err := jc.Holder(ctx, running[0].AttemptedBy)
			return err == nil && !h.Alive
		})
		if out, err := steer("retry", running[0].ID); err != nil || !strings.Contains(out, "available") {
			t.Errorf("retry of a dead process's job: %v\n%s", err, out)
		}
		if out, err := steer("cancel", running[1].ID); err != nil || !strings.Contains(out, "cancelled") {
			t.Errorf("cancel of a dead process's job: %v\n%s", err, out)
		}
		for _, r := range running {
			got, err := jc.Get(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == jobs.StateRunning || got.Attempt != 1 || !strings.Contains(got.LastError(), "interrupted") {
				t.Errorf("job %d after retry or cancel: %s, attempt %d, errors %+v; want released after an interrupted attempt", r.ID, got.State, got.Attempt, got.Errors)
			}
		}
		_, err = steer("cancel", running[1].ID)
		wantRefused("cancel of a cancelled job", err, kura.ECONFLICT, "nothing to cancel")
		_, err = steer("retry", 999999)
		wantRefused("retry of a missing job", err, kura.ENOTFOUND, "job 999999 not found")
	})
}

// registering registers users against a server, a few at a time, until
// stopped or until the server stops answering.
type registering struct {
	mu   sync.Mutex
	ids  []int64
	done chan struct{}
	wg   sync.WaitGroup
}

// startRegistering starts workers goroutines registering users named
// prefix-N at url.
func startRegistering(url, prefix string, workers int) *registering {
	r := &registering{done: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second}
	var n atomic.Int64
	for range workers {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				select {
				case <-r.done:
					return
				default:
				}
				name := fmt.Sprintf("%s%04d", prefix, n.Add(1))
				body := fmt.Sprintf(`{"email": "%s@example.com", "username": "%s", "password": "correct horse battery"}`, name, name)
				resp, err := client.Post(url+"/api/users", "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var user struct{ ID int64 }
				if resp.StatusCode == http.StatusCreated && json.NewDecoder(resp.Body).Decode(&user) == nil {
					r.mu.Lock()
					r.ids = append(r.ids, user.ID)
					r.mu.Unlock()
				}
				resp.Body.Close()
			}
		}()
	}
	return r
}

// stop stops registering and returns the ids of the users registered.
func (r *registering) stop() []int64 {
	close(r.done)
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids
}

// userIDs returns the id of every user in the database.
func userIDs(t *testing.T, dbURL string) []int64 {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Reader().QueryContext(context.Background(), "SELECT id FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sqldb.ScanAll(rows, func(s sqldb.Scanner) (int64, error) {
		var id int64
		err := s.Scan(&id)
		return id, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestShutdown_HandsBackJobs sends SIGTERM to a kura serve whose jobs take
// longer than its shutdown deadline: it exits in time, no job is left
// running, and a new process finishes them.
func TestShutdown_HandsBackJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		const users = 4
		env := []string{
			"DATABASE_URL=" + dbURL, "CACHE_TTL=0", "KURA_LOG_LEVEL=warn",
			"KURA_JOB_TIMEOUT=60s", "KURA_JOB_POLL_INTERVAL=100ms", "KURA_SHUTDOWN_TIMEOUT=1s",
		}
		first := startChild(t, append(env, "KURA_WORKERS=2", "KURA_TEST_NOTIFY_DELAY=30s")...)
		ids := registerUsers(t, first.srv, "term", users)
		jc, store := jobsOf(t, dbURL)
		waitJobs(t, jc, 30*time.Second, "two running", func(rows []*jobs.Row) bool {
			return byState(rows)[jobs.StateRunning] == 2
		})
		begin := time.Now()
		if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-first.exited:
			if first.err != nil {
				t.Fatalf("kura serve exited with %v after SIGTERM\n%s", first.err, first.srv.logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("kura serve did not exit within 20s of SIGTERM")
		}
		took := time.Since(begin)
		s := byState(deliveries(t, jc))
		t.Logf("SIGTERM: exited after %s with delivery jobs %v", took.Round(time.Millisecond), s)
		if s[jobs.StateRunning] != 0 || s[jobs.StateCompleted] != 0 {
			t.Fatalf("after SIGTERM: %v; want every job handed back, none running", s)
		}

		startChild(t, append(env, "KURA_WORKERS=4", "KURA_TEST_NOTIFY_DELAY=0s")...)
		waitJobs(t, jc, 60*time.Second, "all completed", allCompleted(users))
		wantOneWelcomeEach(t, store, ids)
	})
}

// TestEndToEnd_Notifications registers through the API and reads the
// welcome notification back, and drives the jobs CLI.
func TestEndToEnd_Notifications(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "KURA_JOB_POLL_INTERVAL=100ms"}
		s := startKura(t, env...)
		alice := register(t, s, "alice@example.com", "alice")
		register(t, s, "bob@example.com", "bob")
		aliceTok := login(t, s, "alice", "correct horse battery")
		bobTok := login(t, s, "bob", "correct horse battery")
		path := fmt.Sprintf("/api/users/%d/notifications", alice.id())

		var items []any
		testenv.Wait(t, 30*time.Second, "the welcome notification", func() bool {
			r := s.do(t, "GET", path, aliceTok, nil).want(t, http.StatusOK)
			items, _ = r.Body["items"].([]any)
			return len(items) == 1
		})
		if n, _ := items[0].(map[string]any); n["kind"] != "welcome" || n["message"] != "Welcome to kura, alice!" {
			t.Errorf("notification: %v", n)
		}
		s.do(t, "GET", path, bobTok, nil).want(t, http.StatusForbidden)
		s.do(t, "GET", path, "", nil).want(t, http.StatusUnauthorized)

		// The operator's view, once both deliveries are recorded complete.
		jc, _ := jobsOf(t, dbURL)
		waitJobs(t, jc, 30*time.Second, "both completed", allCompleted(2))
		out, _, err := runKura(t, env, "", "jobs", "list", "--kind", "notify.deliver")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(out, "notify.deliver") != 2 || strings.Count(out, "completed") != 2 {
			t.Errorf("jobs list:\n%s", out)
		}
		out, _, err = runKura(t, env, "", "jobs", "counts")
		if err != nil || !strings.Contains(out, "completed") {
			t.Errorf("jobs counts: %v\n%s", err, out)
		}
		if out, _, err = runKura(t, env, "", "jobs", "list", "--state", "failed"); err != nil || strings.Count(out, "\n") != 1 {
			t.Errorf("jobs list --state failed: %v\n%s", err, out)
		}
		first := strings.Fields(strings.Split(out, "\n")[0])
		if len(first) == 0 || first[0] != "ID" {
			t.Errorf("jobs list header: %q", out)
		}
		if _, _, err := runKura(t, env, "", "jobs", "list", "--state", "dead"); !isUsage(err) {
			t.Errorf("jobs list --state dead: %v, want a usage error", err)
		}
		if _, _, err := runKura(t, env, "", "jobs", "retry", "x"); !isUsage(err) {
			t.Errorf("jobs retry x: %v, want a usage error", err)
		}
		if _, _, err := runKura(t, env, "", "jobs", "cancel", "999999"); kura.ErrorCode(err) != kura.ENOTFOUND {
			t.Errorf("jobs cancel of a missing job: %v, want not found", err)
		}

		// Retrying a delivery that completed runs it again, and the
		// idempotency key keeps the notification single.
		id := deliveries(t, jc)[0].ID
		out, _, err = runKura(t, env, "", "jobs", "retry", strconv.FormatInt(id, 10))
		if err != nil || !strings.Contains(out, "available") {
			t.Fatalf("jobs retry %d: %v\n%s", id, err, out)
		}
		waitJobs(t, jc, 30*time.Second, "the retried job completed again", func(rows []*jobs.Row) bool {
			for _, r := range rows {
				if r.ID == id {
					return r.State == jobs.StateCompleted && r.Attempt == 2
				}
			}
			return false
		})
		_, store := jobsOf(t, dbURL)
		wantOneWelcomeEach(t, store, []int64{alice.id()})
	})
}

// TestWorker_WorksJobsOfAServer runs the split deployment: kura serve with
// KURA_WORKERS=0 only enqueues; kura worker delivers; SIGTERM (a cancelled
// context) stops the worker cleanly.
func TestWorker_WorksJobsOfAServer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, "KURA_WORKERS=0", "KURA_JOB_POLL_INTERVAL=100ms"}
		s := startKura(t, env...)
		ids := registerUsers(t, s, "split", 3)
		jc, store := jobsOf(t, dbURL)
		if st := byState(deliveries(t, jc)); st[jobs.StateAvailable] != 3 {
			t.Fatalf("with KURA_WORKERS=0 the server worked jobs: %v", st)
		}

		logs := &syncBuffer{}
		m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Environ: append([]string{noMetricsListener, noBackups}, env...)}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- m.Run(ctx, []string{"worker", "--env-file=", "--concurrency", "2"}) }()
		waitJobs(t, jc, 30*time.Second, "all completed by the worker", allCompleted(3))
		wantOneWelcomeEach(t, store, ids)
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("worker: %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatal("kura worker did not stop after its context was cancelled")
		}
		if !strings.Contains(logs.String(), "kura worker running") || !strings.Contains(logs.String(), "concurrency=2") {
			t.Errorf("worker logs:\n%s", logs.String())
		}
		// The server, whose poll interval passed many times meanwhile,
		// delivered none: the worker delivered all three.
		if n := strings.Count(logs.String(), "notification delivered"); n != 3 {
			t.Errorf("the worker delivered %d notifications, want 3", n)
		}
		if strings.Contains(s.logs.String(), "notification delivered") {
			t.Errorf("with KURA_WORKERS=0 the server delivered notifications:\n%s", s.logs.String())
		}
	})
}
