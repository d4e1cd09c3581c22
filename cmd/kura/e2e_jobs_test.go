package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/notify"
	"github.com/kura-dev/kura/sqldb"
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
	cmd.Env = append([]string{"KURA_TEST_CHILD=1", "PATH=" + os.Getenv("PATH"), noMetricsListener, noBackups}, env...)
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
		c.srv = &server{URL: u, logs: logs}
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
func jobsOf(t *testing.T, dbURL string) (*jobs.Client, *sqldb.NotificationService) {
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
	return jc, sqldb.NewNotificationService(db)
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

// TestCrash_NothingLost kills a real kura serve with SIGKILL while welcome
// notifications are being delivered and others wait, starts it again, and
// checks that every one is delivered exactly once: the delivery job runs
// at least once (the interrupted ones twice), and the notifications
// table's unique idempotency key makes the second run store nothing.
func TestCrash_NothingLost(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		const users, rescueAfter = 12, 4 * time.Second
		env := []string{
			"DATABASE_URL=" + dbURL, "CACHE_TTL=0", "KURA_LOG_LEVEL=info",
			"KURA_JOB_TIMEOUT=3s", "KURA_JOB_RESCUE_AFTER=" + rescueAfter.String(), "KURA_JOB_POLL_INTERVAL=100ms",
		}
		first := startChild(t, append(env, "KURA_WORKERS=2", "KURA_TEST_NOTIFY_DELAY=1500ms")...)
		ids := registerUsers(t, first.srv, "crash", users)
		jc, store := jobsOf(t, dbURL)
		waitJobs(t, jc, 30*time.Second, "running and queued", func(rows []*jobs.Row) bool {
			s := byState(rows)
			return len(rows) == users && s[jobs.StateRunning] > 0 && s[jobs.StateAvailable] > 0
		})
		if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-first.exited
		atKill := byState(deliveries(t, jc))
		t.Logf("killed with delivery jobs %v", atKill)
		if atKill[jobs.StateRunning] == 0 {
			t.Fatal("no job was running when the process died")
		}

		// The dead process's running jobs are rescued once they have been
		// running for KURA_JOB_RESCUE_AFTER; waiting until they have lets
		// the new process's first rescue pass find them.
		waitJobs(t, jc, 30*time.Second, "running for longer than KURA_JOB_RESCUE_AFTER", func(rows []*jobs.Row) bool {
			for _, r := range rows {
				if r.State == jobs.StateRunning && (r.AttemptedAt == nil || time.Since(*r.AttemptedAt) <= rescueAfter) {
					return false
				}
			}
			return true
		})
		second := startChild(t, append(env, "KURA_WORKERS=8", "KURA_TEST_NOTIFY_DELAY=10ms")...)
		rows := waitJobs(t, jc, 90*time.Second, "all completed", allCompleted(users))
		wantOneWelcomeEach(t, store, ids)
		retried := 0
		for _, r := range rows {
			if r.Attempt > 1 {
				retried++
			}
		}
		if retried < atKill[jobs.StateRunning] {
			t.Errorf("%d jobs ran more than once, but %d were interrupted", retried, atKill[jobs.StateRunning])
		}
		t.Logf("%d of %d deliveries ran again after the crash; %d of the reruns found their notification already stored",
			retried, users, strings.Count(second.srv.logs.String(), "notification already delivered"))
	})
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
