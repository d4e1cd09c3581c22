package deploy_test

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/kura-dev/kura/internal/testenv"
)

// The balancer tests run three kura instances on one PostgreSQL database
// and Redis behind the shipped haproxy.cfg or nginx.conf (only their
// addresses changed), send a steady mixed keep-alive load through the
// balancer, and restart each instance in turn with SIGTERM, as systemd
// does. Nothing may fail: no connection error, no 5xx, no unexpected
// status, and the registrations in the database are exactly those
// acknowledged.
//
// KURA_BALANCER_BENCH=120s turns a test into the benchmark of
// docs/BENCHMARKS.md: the load runs that long at KURA_BALANCER_RATE
// (default 300) requests a second and every instance is restarted twice.
func TestBalancer_HAProxy(t *testing.T) { testBalancer(t, haproxyBalancer) }
func TestBalancer_Nginx(t *testing.T)   { testBalancer(t, nginxBalancer) }

// instances is how many kura instances run behind the balancer, as many
// as the shipped configs list.
const instances = 3

// balancer starts a load balancer in front of backends on listen, from the
// shipped configuration, and returns a function that waits until it sends
// traffic to every backend.
type balancer func(t *testing.T, listen string, backends []string) (ready func(t *testing.T))

func testBalancer(t *testing.T, start balancer) {
	if testing.Short() {
		t.Skip("the balancer tests take half a minute")
	}
	duration, rate, rounds := 0*time.Second, 100, 1
	if d := os.Getenv("KURA_BALANCER_BENCH"); d != "" {
		var err error
		if duration, err = time.ParseDuration(d); err != nil {
			t.Fatalf("KURA_BALANCER_BENCH=%q: want a duration such as 120s", d)
		}
		rate, rounds = 300, 2
		if r := os.Getenv("KURA_BALANCER_RATE"); r != "" {
			if rate, err = strconv.Atoi(r); err != nil || rate <= 0 {
				t.Fatalf("KURA_BALANCER_RATE=%q: want a positive number of requests a second", r)
			}
		}
	}
	dbURL, env := clusterEnv(t)
	bin := kuraBinary(t, "v0.0.0-balancer")
	dir := t.TempDir()
	kuras := make([]*kuraProcess, instances)
	backends := make([]string, instances)
	for i := range kuras {
		kuras[i] = &kuraProcess{bin: bin, dir: dir, name: fmt.Sprintf("kura%d", i+1), addr: "127.0.0.1:" + freePort(t), env: env}
		backends[i] = kuras[i].addr
		kuras[i].start(t) // one at a time: the first applies the migrations
		t.Cleanup(kuras[i].kill)
	}
	front := "127.0.0.1:" + freePort(t)
	ready := start(t, front, backends)
	ready(t)

	l := newLoad(t, "http://"+front, rate)
	l.start()
	testenv.Wait(t, time.Minute, "a second of load to be answered", func() bool { return l.answered() >= int64(rate) })
	restarts := 0
	deadline := time.Now().Add(duration)
	for round := 0; round < rounds; round++ {
		for i, k := range kuras {
			// Spread the restarts over the benchmark's duration.
			if left := time.Until(deadline); left > 0 {
				time.Sleep(left / time.Duration((rounds-round)*instances-i))
			}
			took := k.restart(t)
			ready(t)
			testenv.Wait(t, time.Minute, k.name+" to serve through the balancer again", k.servedAPI)
			restarts++
			t.Logf("%s restarted in %s (SIGTERM to exit, drain included), served through the balancer again", k.name, took.Round(time.Millisecond))
		}
	}
	if left := time.Until(deadline); left > 0 {
		time.Sleep(left)
	}
	res := l.stop()
	t.Logf("%d requests in %s (%.0f/s) while %d restarts: %s; p50 %s, p99 %s, max %s",
		res.total, res.took.Round(time.Millisecond), float64(res.total)/res.took.Seconds(), restarts,
		res.byKind(), res.percentile(50), res.percentile(99), res.percentile(100))
	if res.failed() {
		t.Errorf("failures: %d connection errors, %d 5xx, %d unexpected statuses; first ones:\n%s",
			res.connErrors, res.serverErrors, res.unexpected, strings.Join(res.samples, "\n"))
	}
	if res.missed > res.total/100 {
		t.Errorf("the load client missed %d of its ticks: the machine could not keep the rate", res.missed)
	}
	created := countRegistrations(t, dbURL, l.prefix)
	if created != res.registered {
		t.Errorf("%d registrations in the database, %d acknowledged with 201", created, res.registered)
	}
	t.Logf("registrations: %d acknowledged, %d in the database", res.registered, created)
	for _, k := range kuras {
		if n := k.lateRequestWarnings(); n > 0 {
			t.Logf("%s warned %d times that the balancer still sent requests at the end of its drain", k.name, n)
		}
	}
}

// clusterEnv returns a fresh PostgreSQL database's URL and the
// environment of kura instances that share it and the test's Redis.
// KURA_DRAIN_DELAY, if set in the test's own environment, is passed on
// (KURA_DRAIN_DELAY=0 shows what a restart costs without the drain).
func clusterEnv(t *testing.T) (dbURL string, env []string) {
	dbURL = testenv.PostgresDatabase(t)
	if d, ok := os.LookupEnv("KURA_DRAIN_DELAY"); ok {
		t.Logf("KURA_DRAIN_DELAY=%s", d)
		env = append(env, "KURA_DRAIN_DELAY="+d)
	}
	return dbURL, append([]string{
		"PATH=" + os.Getenv("PATH"),
		"DATABASE_URL=" + dbURL,
		"REDIS_URL=" + testenv.RedisURL(t),
		"KURA_CACHE_PREFIX=kura-balancer-" + testenv.RandomSuffix() + ":",
		"KURA_METRICS_ADDR=",
		"KURA_BACKUP_INTERVAL=0",
		"KURA_RATE_LIMIT=false", // every client is 127.0.0.1
		"KURA_LOG_FLUSH_INTERVAL=0",
		"KURA_WORKERS=2",
	}, env...)
}

// countRegistrations returns how many users the load registered.
func countRegistrations(t *testing.T, dbURL, prefix string) int64 {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT count(*) FROM users WHERE email LIKE $1", prefix+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// kuraProcess is one `kura serve` instance, restarted in place.
type kuraProcess struct {
	bin, dir, name, addr string
	env                  []string
	starts               int
	cmd                  *exec.Cmd
	exited               chan struct{} // closed when cmd has exited
	exitErr              error         // cmd's exit error, once exited
	logFile              string
}

func (k *kuraProcess) start(t *testing.T) {
	t.Helper()
	k.starts++
	k.logFile = filepath.Join(k.dir, fmt.Sprintf("%s-%d.log", k.name, k.starts))
	f, err := os.Create(k.logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k.cmd = exec.Command(k.bin, "serve", "--env-file=")
	k.cmd.Env = append(slices.Clone(k.env), "KURA_ADDR="+k.addr)
	k.cmd.Stdout, k.cmd.Stderr = f, f
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	k.exited = exited
	go func(cmd *exec.Cmd) { k.exitErr = cmd.Wait(); close(exited) }(k.cmd)
	testenv.Wait(t, time.Minute, k.name+" to answer /health/ready", func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(k.logFile)
			t.Fatalf("%s exited at start: %v\n%s", k.name, k.exitErr, b)
		default:
		}
		res, err := http.Get("http://" + k.addr + "/health/ready")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// restart stops the instance with SIGTERM, checks that it exits 0, starts
// it again and returns how long the stop took.
func (k *kuraProcess) restart(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	if err := k.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.exited:
		if k.exitErr != nil {
			b, _ := os.ReadFile(k.logFile)
			t.Fatalf("%s exited with %v after SIGTERM\n%s", k.name, k.exitErr, b)
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s did not exit within a minute of SIGTERM", k.name)
	}
	took := time.Since(start)
	k.start(t)
	return took
}

func (k *kuraProcess) kill() {
	if k.cmd != nil && k.cmd.Process != nil {
		k.cmd.Process.Kill()
		<-k.exited
	}
}

// servedAPI reports whether the current process has answered an API
// request (one a balancer passed on, not a health check).
func (k *kuraProcess) servedAPI() bool {
	b, _ := os.ReadFile(k.logFile)
	return bytes.Contains(b, []byte(` path=/api/`))
}

// lateRequestWarnings counts the drains that ended with the balancer still
// sending requests, over every start.
func (k *kuraProcess) lateRequestWarnings() int {
	n := 0
	for i := 1; i <= k.starts; i++ {
		b, _ := os.ReadFile(filepath.Join(k.dir, fmt.Sprintf("%s-%d.log", k.name, i)))
		n += bytes.Count(b, []byte("the load balancer still sends requests"))
	}
	return n
}

// shippedConfig returns the deploy folder's file name with its listen
// address and backends replaced by the test's, and each replacement of
// extra made; every one must be found, so that the file and the test
// cannot drift apart.
func shippedConfig(t *testing.T, name, listen string, backends []string, extra ...string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	repl := append([]string{"127.0.0.1:8080", listen}, extra...)
	for i, addr := range backends {
		repl = append(repl, fmt.Sprintf("127.0.0.1:%d", 8081+i), addr)
	}
	for i := 0; i < len(repl); i += 2 {
		if strings.Count(s, repl[i]) != 1 {
			t.Fatalf("%s: want %q exactly once, found it %d times", name, repl[i], strings.Count(s, repl[i]))
		}
		s = strings.Replace(s, repl[i], repl[i+1], 1)
	}
	return s
}

// startTool runs a balancer in the foreground until the test ends; its
// output is logged if the test fails.
func startTool(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out testenv.LogBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", filepath.Base(name), out.String())
		}
	})
}

// haproxyBalancer runs haproxy with deploy/haproxy.cfg. It is ready when
// its runtime API reports every server UP and each instance has served
// an API request through it.
func haproxyBalancer(t *testing.T, listen string, backends []string) func(*testing.T) {
	t.Helper()
	sock := startHAProxy(t, listen, backends)
	return func(t *testing.T) { t.Helper(); waitHAProxyUp(t, sock, len(backends)) }
}

// startHAProxy runs haproxy with deploy/haproxy.cfg in front of backends
// and returns the path of its runtime API.
func startHAProxy(t *testing.T, listen string, backends []string) (sock string) {
	t.Helper()
	tool := testenv.Tool(t, "haproxy", "haproxy")
	dir := t.TempDir()
	sock = filepath.Join(dir, "kura.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(shippedConfig(t, "haproxy.cfg", listen, backends, "/run/haproxy/kura.sock", sock)), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, ".", tool, "-c", "-q", "-f", cfg)
	startTool(t, tool, "-db", "-f", cfg)
	return sock
}

// waitHAProxyUp waits until haproxy reports n servers UP.
func waitHAProxyUp(t *testing.T, sock string, n int) {
	t.Helper()
	testenv.Wait(t, time.Minute, "haproxy to report every server UP", func() bool {
		st, err := haproxyStatus(sock)
		if err != nil {
			return false
		}
		up := 0
		for _, s := range st {
			if s == "UP" {
				up++
			}
		}
		return up == n
	})
}

// haproxyStatus returns the status of each server of backend kura, by
// name, from haproxy's runtime API at sock ("show stat").
func haproxyStatus(sock string) (map[string]string, error) {
	out, err := haproxyCommand(sock, "show stat")
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# "))).ReadAll()
	if err != nil || len(rows) < 2 {
		return nil, fmt.Errorf("show stat: %v %q", err, out)
	}
	col := slices.Index(rows[0], "status")
	st := map[string]string{}
	for _, r := range rows[1:] {
		if len(r) > col && r[0] == "kura" && r[1] != "BACKEND" {
			st[r[1]] = r[col]
		}
	}
	return st, nil
}

// haproxyCommand sends one command to haproxy's runtime API.
func haproxyCommand(sock, command string) (string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// nginxBalancer runs nginx with deploy/nginx.conf. nginx has no health
// checks of its own: it is ready once each instance has served an API
// request through it.
func nginxBalancer(t *testing.T, listen string, backends []string) func(*testing.T) {
	t.Helper()
	tool := testenv.Tool(t, "nginx", "nginx")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfg, []byte(shippedConfig(t, "nginx.conf", listen, backends)), 0o600); err != nil {
		t.Fatal(err)
	}
	global := "daemon off; pid " + filepath.Join(dir, "nginx.pid") + ";"
	runTool(t, ".", tool, "-q", "-t", "-p", dir, "-c", cfg, "-g", global)
	startTool(t, tool, "-p", dir, "-c", cfg, "-g", global)
	return func(t *testing.T) {
		t.Helper()
		testenv.Wait(t, time.Minute, "nginx to answer", func() bool {
			res, err := http.Get("http://" + listen + "/health/live")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
	}
}

// load is a steady, paced mix of keep-alive requests through the balancer:
// reads of a user (75%, half of them with the owner's token), profile
// updates by their owner (20%) and registrations (5%: each hashes a
// password with argon2id, which on a small machine costs more than all
// the rest).
type load struct {
	t       *testing.T
	base    string
	rate    int
	prefix  string // of every email registered
	client  *http.Client
	users   []loadUser
	stopped chan struct{}
	stop1   sync.Once
	done    sync.WaitGroup
	seq     atomic.Int64
	began   time.Time

	mu  sync.Mutex
	res loadResult
}

type loadUser struct {
	id    int64
	token string
}

// loadResult is what the load saw.
type loadResult struct {
	total, connErrors, serverErrors, unexpected, missed, registered int64
	kinds                                                           map[string]int64
	latencies                                                       []time.Duration
	samples                                                         []string
	took                                                            time.Duration
}

func (r *loadResult) failed() bool { return r.connErrors+r.serverErrors+r.unexpected > 0 }

func (r *loadResult) byKind() string {
	var parts []string
	for _, k := range []string{"read", "update", "register"} {
		parts = append(parts, fmt.Sprintf("%d %ss", r.kinds[k], k))
	}
	return strings.Join(parts, ", ")
}

func (r *loadResult) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	i := min(len(s)-1, len(s)*p/100)
	return s[i].Round(100 * time.Microsecond)
}

func newLoad(t *testing.T, base string, rate int) *load {
	l := &load{t: t, base: base, rate: rate, prefix: "load-" + testenv.RandomSuffix() + "-", stopped: make(chan struct{}),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 5 * time.Second}}}
	l.res.kinds = map[string]int64{}
	t.Cleanup(func() { l.stop(); l.client.CloseIdleConnections() }) // a test that fails midway
	// The users whose profiles are read and updated: registered and logged
	// in before the load begins.
	for i := range 16 {
		email := fmt.Sprintf("owner%d-%s@example.com", i, l.prefix) // not counted as the load's
		var u struct {
			ID int64 `json:"id"`
		}
		l.mustJSON(t, "POST", "/api/users", "", map[string]string{"email": email, "username": fmt.Sprintf("owner%d%s", i, testenv.RandomSuffix()[:6]), "password": "correct horse battery"}, 201, &u)
		var s struct {
			Token string `json:"token"`
		}
		l.mustJSON(t, "POST", "/api/auth/login", "", map[string]string{"login": email, "password": "correct horse battery"}, 200, &s)
		l.users = append(l.users, loadUser{u.ID, s.Token})
	}
	return l
}

func (l *load) mustJSON(t *testing.T, method, path, token string, body any, want int, dst any) {
	t.Helper()
	status, raw, err := l.do(method, path, token, body)
	if err != nil || status != want {
		t.Fatalf("%s %s: %v %d %s", method, path, err, status, raw)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatal(err)
	}
}

func (l *load) do(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

// start paces requests at the rate over a pool of workers until stop.
func (l *load) start() {
	ticks := make(chan struct{})
	l.began = time.Now()
	workers := max(64, l.rate/2) // registrations take a while: argon2id
	for range workers {
		l.done.Go(func() {
			for range ticks {
				l.one()
			}
		})
	}
	l.done.Go(func() {
		defer close(ticks)
		every := time.Second / time.Duration(l.rate)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-l.stopped:
				return
			case <-tick.C:
				select {
				case ticks <- struct{}{}:
				default:
					l.mu.Lock()
					l.res.missed++
					l.mu.Unlock()
				}
			}
		}
	})
}

// one sends one request of the mix and records its outcome.
func (l *load) one() {
	n := l.seq.Add(1)
	u := l.users[n%int64(len(l.users))]
	var kind, method, path, token string
	var body any
	want := http.StatusOK
	switch n % 20 {
	case 0:
		kind, method, path, token, want = "register", "POST", "/api/users", "", http.StatusCreated
		body = map[string]string{"email": fmt.Sprintf("%s%d@example.com", l.prefix, n), "username": fmt.Sprintf("r%d%s", n, l.prefix[5:11]), "password": "correct horse battery"}
	case 1, 2, 3, 4:
		kind, method, path, token = "update", "PATCH", fmt.Sprintf("/api/users/%d", u.id), u.token
		body = map[string]string{"username": fmt.Sprintf("o%d%s", n, l.prefix[5:11])}
	default:
		kind, method, path = "read", "GET", fmt.Sprintf("/api/users/%d", u.id)
		if n%2 == 0 {
			token = u.token
		}
	}
	start := time.Now()
	status, raw, err := l.do(method, path, token, body)
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.total++
	l.res.kinds[kind]++
	l.res.latencies = append(l.res.latencies, took)
	sample := ""
	switch {
	case err != nil:
		l.res.connErrors++
		sample = fmt.Sprintf("%s %s: %v", method, path, err)
	case status >= 500:
		l.res.serverErrors++
		sample = fmt.Sprintf("%s %s: %d %s", method, path, status, raw)
	case status != want:
		l.res.unexpected++
		sample = fmt.Sprintf("%s %s: %d %s", method, path, status, raw)
	case kind == "register":
		l.res.registered++
	}
	if sample != "" && len(l.res.samples) < 10 {
		l.res.samples = append(l.res.samples, fmt.Sprintf("+%s %s", time.Since(l.began).Round(time.Millisecond), sample))
	}
}

// answered returns how many requests have been answered so far.
func (l *load) answered() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.res.total
}

// stop ends the load, waits for the requests in flight and returns what
// it saw.
func (l *load) stop() loadResult {
	l.stop1.Do(func() { close(l.stopped) })
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.res.took = time.Since(l.began)
	return l.res
}
