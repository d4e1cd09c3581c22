package notes_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestNotesBinary_ObeysKurasVariables builds the notes binary and runs it
// on each engine with kura's variables set, as an operator would set them
// for kura serve: DB_POOL_SIZE sizes its pool (the metrics' most open
// connections on PostgreSQL and MariaDB; SQLite's pools are one writer and
// readers by CPU, so there the start's log line says it), KURA_RATE_LIMIT
// and KURA_LOGIN_RATE decide whether a second login is a 429 with
// Retry-After, KURA_METRICS_ADDR is where /metrics is served, and the
// scheduled backup (KURA_BACKUP_INTERVAL, KURA_BACKUP_DIR) holds the
// notes' own tables beside kura's.
func TestNotesBinary_ObeysKurasVariables(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary: not in -short")
	}
	goTool := testenv.Tool(t, "go", "golang")
	bin := filepath.Join(t.TempDir(), "notes")
	if out, err := exec.Command(goTool, "build", "-o", bin, "./cmd/notes").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/notes: %v\n%s", err, out)
	}
	engines := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "notes.db") },
		"postgres": func(t *testing.T) string { return testenv.PostgresDatabase(t) },
		"mysql":    func(t *testing.T) string { return testenv.MySQLDatabase(t) },
	}
	for name, url := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dbURL := url(t)
			for _, limits := range []bool{true, false} {
				n := startNotes(t, bin, dbURL, limits)
				n.checkRateLimit(limits)
				n.checkMetrics(name != "sqlite")
				if limits {
					n.checkBackup()
				}
				n.stop()
			}
		})
	}
}

// notesProcess is a running notes binary.
type notesProcess struct {
	t           *testing.T
	cmd         *exec.Cmd
	base        string // the API's URL
	metricsAddr string
	backupDir   string
	mu          sync.Mutex
	logs        strings.Builder
	exited      chan error
}

// startNotes starts the binary on dbURL with kura's variables, in an
// empty folder (no .env), and waits until it serves.
func startNotes(t *testing.T, bin, dbURL string, limits bool) *notesProcess {
	t.Helper()
	n := &notesProcess{t: t, metricsAddr: freeAddr(t), backupDir: t.TempDir(), exited: make(chan error, 1)}
	n.cmd = exec.Command(bin)
	n.cmd.Dir = t.TempDir()
	n.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "KURA_ADDR=127.0.0.1:0",
		"DB_POOL_SIZE=7", "DB_MAX_OVERFLOW=0", "KURA_RATE_LIMIT="+map[bool]string{true: "true", false: "false"}[limits],
		"KURA_LOGIN_RATE=1/1m", "KURA_METRICS_ADDR="+n.metricsAddr, "KURA_BACKUP_DIR="+n.backupDir,
		"KURA_BACKUP_INTERVAL=24h", "KURA_DRAIN_DELAY=0", "KURA_LOG_FLUSH_INTERVAL=0", "KURA_DB_CONNECT_TIMEOUT=0")
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	serving := regexp.MustCompile(`msg="notes serving" url=(http://\S+)`)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			n.mu.Lock()
			n.logs.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		n.exited <- n.cmd.Wait()
	}()
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			n.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("the notes binary's log:\n%s", n.log())
		}
	})
	select {
	case n.base = <-urls:
	case err := <-n.exited:
		t.Fatalf("notes exited before serving: %v\n%s", err, n.log())
	case <-time.After(testenv.WaitTimeout):
		t.Fatalf("notes did not serve within %s", testenv.WaitTimeout)
	}
	return n
}

func (n *notesProcess) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// post sends a JSON body and returns the response, its body read.
func (n *notesProcess) post(path string, body any) (*http.Response, []byte) {
	n.t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(n.base+path, "application/json", bytes.NewReader(b))
	if err != nil {
		n.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, out
}

// checkRateLimit logs in twice: with KURA_LOGIN_RATE=1/1m the second is a
// 429 with Retry-After while the limits are on, and a 200 while they are
// off.
func (n *notesProcess) checkRateLimit(on bool) {
	n.t.Helper()
	if res, out := n.post("/api/users", map[string]string{"email": "ann@example.com", "username": "ann", "password": "a long passphrase"}); res.StatusCode != 201 && res.StatusCode != 409 {
		n.t.Fatalf("register: %d %s", res.StatusCode, out)
	}
	login := map[string]string{"login": "ann", "password": "a long passphrase"}
	if res, out := n.post("/api/auth/login", login); res.StatusCode != 200 {
		n.t.Fatalf("first login: %d %s", res.StatusCode, out)
	}
	res, out := n.post("/api/auth/login", login)
	switch {
	case on && (res.StatusCode != 429 || res.Header.Get("Retry-After") == ""):
		n.t.Fatalf("second login with KURA_LOGIN_RATE=1/1m: %d (Retry-After %q) %s; want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"), out)
	case !on && res.StatusCode != 200:
		n.t.Fatalf("second login with KURA_RATE_LIMIT=false: %d %s; want 200", res.StatusCode, out)
	}
}

// checkMetrics reads /metrics at KURA_METRICS_ADDR: the pool's most open
// connections are DB_POOL_SIZE (on a server; on SQLite the log says it).
func (n *notesProcess) checkMetrics(server bool) {
	n.t.Helper()
	res, err := http.Get("http://" + n.metricsAddr + "/metrics")
	if err != nil {
		n.t.Fatalf("GET /metrics at KURA_METRICS_ADDR %s: %v", n.metricsAddr, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `kura_http_requests_total{method="POST",route="POST /api/auth/login"`) {
		n.t.Fatalf("GET /metrics: %d, without the logins:\n%s", res.StatusCode, body)
	}
	if server && !strings.Contains(string(body), `kura_db_pool_max_open_connections{pool="main"} 7`) {
		n.t.Fatalf("DB_POOL_SIZE=7 is not the pool's size in /metrics:\n%s", body)
	}
	if !strings.Contains(n.log(), "pool_size=7") {
		n.t.Fatal("the start's log does not say pool_size=7")
	}
}

// checkBackup waits for the scheduled backup, taken at start, and checks
// that it holds the notes' tables beside kura's.
func (n *notesProcess) checkBackup() {
	n.t.Helper()
	var m *backup.Manifest
	testenv.Wait(n.t, 2*testenv.WaitTimeout, "the scheduled backup", func() bool {
		m, _ = backup.Latest(n.backupDir)
		return m != nil
	})
	var names []string
	for _, tb := range m.Tables {
		names = append(names, tb.Name)
	}
	for _, want := range []string{"notes", "note_tags", "note_shares", "notes_schema_migrations", "users"} {
		if !slices.Contains(names, want) {
			n.t.Fatalf("backup %s lacks the table %s: it has %v", m.Name, want, names)
		}
	}
}

// stop sends SIGTERM and expects a clean exit.
func (n *notesProcess) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	select {
	case err := <-n.exited:
		if err != nil {
			n.t.Fatalf("notes stopped with %v after SIGTERM; want a clean exit", err)
		}
	case <-time.After(testenv.WaitTimeout):
		n.t.Fatal("notes did not stop after SIGTERM")
	}
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
