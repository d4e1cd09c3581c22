package cache_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/internal/testenv"
)

// MustNew returns a cache of strings closed when the test ends.
func MustNew(tb testing.TB, cfg cache.Config) *cache.Cache[string] {
	tb.Helper()
	c, err := cache.New[string](cfg, nil)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// MustNewUp returns a cache with a Redis tier once it is subscribed.
func MustNewUp(tb testing.TB, cfg cache.Config) *cache.Cache[string] {
	tb.Helper()
	cfg, states := Watch(cfg)
	c := MustNew(tb, cfg)
	states.Wait(tb, true)
	return c
}

// RedisConfig returns a Config on the shared test Redis under a key prefix
// of its own, so that parallel tests do not collide.
func RedisConfig(tb testing.TB) cache.Config {
	tb.Helper()
	return cache.Config{RedisURL: testenv.RedisURL(tb), Prefix: "kuratest:" + rand.Text() + ":"}
}

// States records the Redis tier's state changes of one cache.
type States chan bool

// Watch returns cfg reporting its state changes to a new States.
func Watch(cfg cache.Config) (cache.Config, States) {
	s := make(States, 64)
	return cache.WithStateHook(cfg, func(up bool) { s <- up }), s
}

// Wait waits until the cache reports the state want.
func (s States) Wait(tb testing.TB, want bool) {
	tb.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case got := <-s:
			if got == want {
				return
			}
		case <-timeout:
			tb.Fatalf("cache did not report up=%v", want)
		}
	}
}

// Loader is a load function that counts its calls and returns the current
// value of a fake database row.
type Loader struct {
	calls atomic.Int64
	value atomic.Pointer[string]
}

// NewLoader returns a Loader whose row holds v.
func NewLoader(v string) *Loader {
	l := &Loader{}
	l.Set(v)
	return l
}

// Set changes the row.
func (l *Loader) Set(v string) { l.value.Store(&v) }

// Load is the load function.
func (l *Loader) Load(context.Context) (string, error) {
	l.calls.Add(1)
	return *l.value.Load(), nil
}

// Calls returns the number of loads so far.
func (l *Loader) Calls() int64 { return l.calls.Load() }

// MustGet calls GetOrLoad and fails the test on an error or a value other
// than want.
func MustGet(tb testing.TB, c *cache.Cache[string], key string, load func(context.Context) (string, error), want string) {
	tb.Helper()
	got, err := c.GetOrLoad(context.Background(), key, load)
	if err != nil || got != want {
		tb.Fatalf("GetOrLoad(%q) = %q, %v; want %q", key, got, err, want)
	}
}

// RedisServer is a redis-server of the test's own, which it may kill and
// restart; it never touches the shared server.
type RedisServer struct {
	tb   testing.TB
	Port string
	dir  string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server on a free port, stopped at the end of
// the test; it skips without the redis-server binary.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if testenv.CI() {
			tb.Fatal("redis-server not found (CI=true: tests must not skip)")
		}
		tb.Skip("redis-server not found")
	}
	s := &RedisServer{tb: tb, Port: FreePort(tb), dir: tb.TempDir()}
	s.Start()
	tb.Cleanup(s.Kill)
	return s
}

// StartRedisAt starts s, made earlier without starting it.
func StartRedisAt(tb testing.TB, s *RedisServer) {
	tb.Helper()
	s.Start()
	tb.Cleanup(s.Kill)
}

// URL returns the server's URL.
func (s *RedisServer) URL() string { return "redis://127.0.0.1:" + s.Port + "/0" }

// Start starts the server and returns once it accepts connections.
func (s *RedisServer) Start() {
	s.tb.Helper()
	s.cmd = exec.Command("redis-server", "--port", s.Port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--logfile", "")
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.tb.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	scan := bufio.NewScanner(out)
	for scan.Scan() {
		if strings.Contains(scan.Text(), "Ready to accept connections") {
			go func() {
				for scan.Scan() { // drain the log so the server never blocks
				}
			}()
			return
		}
	}
	s.tb.Fatal("redis-server exited before accepting connections")
}

// Kill kills the server, as a crash would.
func (s *RedisServer) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// ShutdownSave stops the server after it saved its data to disk, to be
// loaded again by the next Start.
func (s *RedisServer) ShutdownSave() {
	s.tb.Helper()
	// redis-cli may report the closed connection as an error; Wait tells
	// whether the server stopped.
	_ = exec.Command("redis-cli", "-p", s.Port, "shutdown", "save").Run()
	s.cmd.Wait()
	s.cmd = nil
}

// FreePort returns a TCP port that nothing listens on.
func FreePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
