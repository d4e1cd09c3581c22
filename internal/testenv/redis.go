package testenv

import (
	"bufio"
	"net"
	osexec "os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// RedisServer is a redis-server of the test's own, which it may kill and
// restart; it never touches the shared server.
type RedisServer struct {
	tb   testing.TB
	Port string
	dir  string
	cmd  *osexec.Cmd
}

// StartRedis starts a redis-server on a free port, stopped at the end of
// the test; it skips without the redis-server binary.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	if _, err := osexec.LookPath("redis-server"); err != nil {
		if CI() {
			tb.Fatal("redis-server not found (CI=true: tests must not skip)")
		}
		tb.Skip("redis-server not found")
	}
	s := NewRedisServer(tb)
	s.Start()
	tb.Cleanup(s.Kill)
	return s
}

// NewRedisServer returns a redis-server on a free port, not started yet:
// StartRedisAt starts it.
func NewRedisServer(tb testing.TB) *RedisServer {
	tb.Helper()
	return &RedisServer{tb: tb, Port: FreePort(tb), dir: tb.TempDir()}
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
	s.cmd = osexec.Command("redis-server", "--port", s.Port, "--bind", "127.0.0.1",
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

// Pause stops the server with SIGSTOP, as a hung server: its connections
// stay open and its port accepts connections, but nothing is answered
// until Resume. Kill kills a paused server too.
func (s *RedisServer) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("pause redis-server: %v", err)
	}
}

// Resume continues a paused server with SIGCONT.
func (s *RedisServer) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.tb.Fatalf("resume redis-server: %v", err)
	}
}

// ShutdownSave stops the server after it saved its data to disk, to be
// loaded again by the next Start.
func (s *RedisServer) ShutdownSave() {
	s.tb.Helper()
	// redis-cli may report the closed connection as an error; Wait tells
	// whether the server stopped.
	_ = osexec.Command("redis-cli", "-p", s.Port, "shutdown", "save").Run()
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
