package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// startServe runs `kura serve` as m on 127.0.0.1:0 until the test ends,
// and returns its URL once it listens; at the end it is stopped as by
// SIGTERM and must stop cleanly.
func startServe(t *testing.T, m *Main) string {
	t.Helper()
	u, err := serveUntilEnd(t, m)
	if err != nil {
		t.Fatalf("serve failed to start: %v", err)
	}
	return u
}

// serveUntilEnd is startServe for any goroutine: it returns serve's error
// when it fails to start.
func serveUntilEnd(t *testing.T, m *Main) (string, error) {
	u, stop, err := launchServe(m)
	if err != nil {
		return "", err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve did not stop cleanly: %v", err)
		}
	})
	return u, nil
}

// launchServe runs `kura serve` as m on 127.0.0.1:0, without a drain delay
// unless m's environment sets one, and returns its URL
// once it listens, and stop, which ends it as SIGTERM does and returns
// its error; or the error it failed to start with.
func launchServe(m *Main) (url string, stop func() error, err error) {
	ready := make(chan string, 1)
	m.Listening = func(u string) { ready <- u }
	m.Environ = append([]string{noDrainDelay}, m.environ()...) // a test's own may set it
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, []string{"serve", "--env-file=", "--addr", "127.0.0.1:0"}) }()
	select {
	case u := <-ready:
		return u, func() error { cancel(); return <-errc }, nil
	case err := <-errc:
		cancel()
		return "", nil, err
	}
}

// TestServe_PortTaken: a taken port fails before the database is touched,
// naming the variable to change.
func TestServe_PortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dbPath := filepath.Join(t.TempDir(), "kura.db")
	_, _, err = runKura(t, []string{noMetricsListener, noBackups, "DATABASE_URL=sqlite:" + dbPath}, "", "serve", "--addr", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "KURA_ADDR") || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("want an error naming KURA_ADDR and the port in use, got %v", err)
	}
	if _, err := os.Stat(dbPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the database file was touched before the port was bound: %v", err)
	}
}

// TestServe_WaitsForDatabase: a PostgreSQL that refuses connections at
// start is retried until it answers, and serve then starts.
func TestServe_WaitsForDatabase(t *testing.T) {
	dbURL := testenv.PostgresDatabase(t)
	u, _ := url.Parse(dbURL)
	proxy := testenv.StartProxy(t, u.Host)
	proxy.Refuse()
	u.Host = proxy.Addr()
	logs := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: logs,
		Environ: []string{noMetricsListener, noBackups, "DATABASE_URL=" + u.String(), "KURA_DB_CONNECT_TIMEOUT=60", "KURA_LOG_FLUSH_INTERVAL=0"}}
	done := make(chan error, 1)
	go func() {
		_, err := serveUntilEnd(t, m)
		done <- err
	}()
	testenv.Wait(t, 0, "a warning that the database is not reachable yet", func() bool {
		return strings.Contains(logs.String(), "database not reachable yet")
	})
	proxy.Resume()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve did not start once the database answered: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("serve did not start within a minute of the database answering:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "database reachable") {
		t.Errorf("no line saying the database became reachable:\n%s", logs.String())
	}
}

// TestServe_DatabaseDown: a database that never answers fails after
// KURA_DB_CONNECT_TIMEOUT with the question to ask, and no password.
func TestServe_DatabaseDown(t *testing.T) {
	proxy := testenv.StartProxy(t, "127.0.0.1:1")
	proxy.Refuse()
	const secret = "s3cret-pass-word"
	env := []string{noMetricsListener, noBackups, "DATABASE_URL=postgres://kura:" + secret + "@" + proxy.Addr() + "/kura?sslmode=disable", "KURA_DB_CONNECT_TIMEOUT=1"}
	start := time.Now()
	_, logs, err := runKura(t, env, "", "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "is PostgreSQL running at "+proxy.Addr()+"?") {
		t.Fatalf("want an error asking whether PostgreSQL runs at %s, got %v", proxy.Addr(), err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("gave up after %s, want about KURA_DB_CONNECT_TIMEOUT (1s)", took)
	}
	if strings.Contains(err.Error()+logs, secret) {
		t.Fatal("the password appears in the error or the logs")
	}
	if !strings.Contains(logs, "retrying") {
		t.Errorf("no retry was logged:\n%s", logs)
	}
	// Commands other than serve and worker do not wait.
	_, _, err = runKura(t, env, "", "migrate", "status")
	if err == nil || !strings.Contains(err.Error(), "is PostgreSQL running at") || !strings.Contains(err.Error(), "checked once") {
		t.Fatalf("migrate status: want the question without a wait, got %v", err)
	}
}

// TestServe_MissingDatabase: a database that does not exist says how to
// create it, on PostgreSQL and MariaDB.
func TestServe_MissingDatabase(t *testing.T) {
	for name, tc := range map[string]struct {
		server func(testing.TB) string
		fix    string
	}{
		"postgres": {testenv.PostgresURL, "createdb"},
		"mysql":    {testenv.MySQLURL, "CREATE DATABASE"},
	} {
		t.Run(name, func(t *testing.T) {
			u, _ := url.Parse(tc.server(t))
			u.Path = "/kura_no_such_" + testenv.RandomSuffix()
			_, _, err := runKura(t, []string{noMetricsListener, noBackups, "DATABASE_URL=" + u.String()}, "", "serve", "--addr", "127.0.0.1:0")
			if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), tc.fix) {
				t.Fatalf("want an error saying the database does not exist and %s, got %v", tc.fix, err)
			}
		})
	}
}

// TestServe_MigrateFalse: serve --migrate=false on a new database says to
// run kura migrate up, and serves once that is done.
func TestServe_MigrateFalse(t *testing.T) {
	env := []string{noMetricsListener, noBackups, "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}
	_, _, err := runKura(t, env, "", "serve", "--addr", "127.0.0.1:0", "--migrate=false")
	if err == nil || !strings.Contains(err.Error(), `run "kura migrate up"`) {
		t.Fatalf("want an error saying to run kura migrate up, got %v", err)
	}
	if _, _, err := runKura(t, env, "", "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Environ: append(env, "KURA_AUTO_MIGRATE=false")}
	startServe(t, m)
}

// TestServe_Banner: on a terminal serve says where it serves, the engine
// and the file, where the docs are and, until an admin exists, how to make
// one; not on a pipe.
func TestServe_Banner(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "kura.db")
	env := []string{noMetricsListener, noBackups, "DATABASE_URL=sqlite:" + dbPath}
	serveOnce := func(terminal bool) (string, string) {
		stdout := &syncBuffer{}
		m := &Main{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: &syncBuffer{}, Environ: env,
			isTerminal: func(io.Writer) bool { return terminal }}
		base, stop, err := launchServe(m)
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		if err := stop(); err != nil {
			t.Fatalf("serve did not stop cleanly: %v", err)
		}
		return base, stdout.String()
	}
	base, out := serveOnce(true)
	for _, want := range []string{"is serving " + base, "sqlite, data in " + dbPath, base + "/health", base + "/openapi.json", docsURL, "No admin account yet", "kura " + createAdminArgs} {
		if !strings.Contains(out, want) {
			t.Errorf("the banner lacks %q:\n%s", want, out)
		}
	}
	if _, out := serveOnce(false); out != "" {
		t.Errorf("serve wrote to a standard output that is not a terminal: %q", out)
	}
	if _, _, err := runKura(t, append(env, "KURA_USER_PASSWORD=a long passphrase"), "", "users", "create", "--email", "root@example.com", "--username", "root", "--admin"); err != nil {
		t.Fatal(err)
	}
	if _, out := serveOnce(true); strings.Contains(out, "No admin") || !strings.Contains(out, "is serving") {
		t.Errorf("with an admin, the banner should not ask for one:\n%s", out)
	}
}

// TestServe_Index: GET / names the service and links to the rest, and
// tells no one which version runs.
func TestServe_Index(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"))
	r := s.do(t, "GET", "/", "", nil).want(t, 200)
	links, _ := r.Body["links"].(map[string]any)
	if r.Body["name"] != "kura" || links["health"] != "/health" || links["docs"] != docsURL {
		t.Fatalf("GET / = %s", r.Raw)
	}
	if _, ok := r.Body["version"]; ok {
		t.Fatalf("GET / shows the version: %s", r.Raw)
	}
}

// TestServe_NotifySocket: under systemd's Type=notify, serve sends
// READY=1 once it serves and STOPPING=1 when it begins to shut down, to a
// real datagram socket.
func TestServe_NotifySocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "kura-notify") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func() string {
		conn.SetReadDeadline(time.Now().Add(testenv.WaitTimeout))
		b := make([]byte, 256)
		n, err := conn.Read(b)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(b[:n])
	}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: &syncBuffer{},
		Environ: []string{noMetricsListener, noBackups, "NOTIFY_SOCKET=" + sock, "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}}
	_, stop, err := launchServe(m)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	if got := read(); got != "READY=1" {
		stop()
		t.Fatalf("first notification %q, want READY=1", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}
	if got := read(); got != "STOPPING=1" {
		t.Fatalf("notification at shutdown %q, want STOPPING=1", got)
	}
}

// TestHealthcheck: kura healthcheck exits 0 against a healthy server (its
// wildcard KURA_ADDR asked on loopback), and fails with a clear line
// against a port where nothing listens.
func TestHealthcheck(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "kura.db"))
	u, _ := url.Parse(s.URL)
	out, _, err := runKura(t, []string{"KURA_ADDR=0.0.0.0:" + u.Port()}, "", "healthcheck")
	if err != nil || !strings.Contains(out, "healthy") {
		t.Fatalf("healthcheck of a healthy server: %q %v", out, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, _, err = runKura(t, nil, "", "healthcheck", "--url", "http://"+closed)
	if err == nil || !strings.Contains(err.Error(), "is kura serve running there?") {
		t.Fatalf("healthcheck of a closed port: want an error, got %v", err)
	}
	if _, _, code := run(t, nil, "healthcheck", "--url", "http://"+closed); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
}

// TestConfig_NamesTheVariable: mistakes that once answered with a Go
// field or a bare listen error name the variable to fix.
func TestConfig_NamesTheVariable(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"KURA_ADDR=8080", "KURA_ADDR"},
		{"KURA_ADDR=127.0.0.1:99999", "KURA_ADDR"},
		{"KURA_WORKERS=100000", "KURA_WORKERS"},
		{"KURA_DB_CONNECT_TIMEOUT=soon", "KURA_DB_CONNECT_TIMEOUT"},
		{"DB_PORT=abc", "DB_PORT"},
		{"DATABASE_URL=postgres://%zz", "DATABASE_URL"},
	} {
		env := []string{noMetricsListener, noBackups, "DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}
		if strings.HasPrefix(tc.env, "DB_") {
			env = []string{noMetricsListener, noBackups, "DB_HOST=127.0.0.1"}
		}
		_, _, err := runKura(t, append(env, tc.env), "", "serve")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("%s: want an error starting %s:, got %v", tc.env, tc.want, err)
		}
	}
}

func TestVersion_BuildDate(t *testing.T) {
	out, _, err := runKura(t, nil, "", "version")
	if err != nil || !strings.Contains(out, "(commit ") || !strings.Contains(out, ", built ") {
		t.Fatalf("version: %q %v", out, err)
	}
}

// TestConfig_BackupDefaultURL: without DATABASE_URL, backups (serve's
// scheduled ones on a first run too) are of the default SQLite file, the
// one serve opens.
func TestConfig_BackupDefaultURL(t *testing.T) {
	cfg, err := LoadConfig(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Backup(nil).URL; got != sqldb.DefaultURL {
		t.Fatalf("backup URL %q, want %q", got, sqldb.DefaultURL)
	}
}
