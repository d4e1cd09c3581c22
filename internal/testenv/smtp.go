package testenv

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SMTPServer is a private Postfix instance for one test: its own
// configuration, queue and log in a temporary folder, listening on high
// ports of 127.0.0.1 only, and delivering every message it accepts, for
// any address, to one maildir that Messages reads. Nothing is relayed.
// The Debian package postfix provides it (.ci/run installs it); it needs
// root, as Postfix's master does. The system's own Postfix is neither
// used nor touched.
type SMTPServer struct {
	tb      testing.TB
	dir     string
	Port    int // plain SMTP, with STARTTLS when TLS was asked for
	TLSPort int // implicit TLS (smtps), when TLS was asked for; else 0
	opts    SMTPOptions
	cert    *TestCert
	running bool
}

// SMTPOptions choose how an SMTPServer answers.
type SMTPOptions struct {
	// TLS makes a test certificate for 127.0.0.1 and localhost (see
	// RootCAs), offers STARTTLS on Port and listens with implicit TLS on
	// TLSPort.
	TLS bool
	// Refuse makes the server refuse every recipient: "temporary" (450)
	// or "permanent" (554); "" accepts them.
	Refuse string
	// Down leaves the server stopped: Start starts it.
	Down bool
}

// SMTP starts a private Postfix (see SMTPServer), stopped when tb ends. It
// skips tb, or fails it under CI=true, when Postfix is missing or the tests
// do not run as root.
func SMTP(tb testing.TB, opts SMTPOptions) *SMTPServer {
	tb.Helper()
	Tool(tb, "postfix", "postfix")
	if os.Geteuid() != 0 {
		msg := "a private Postfix needs root to start (its master drops privileges itself)"
		if CI() {
			tb.Fatal(msg + " (CI=true: tests must not skip)")
		}
		tb.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "kura-postfix-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // postfix and nobody go through it
		tb.Fatal(err)
	}
	s := &SMTPServer{tb: tb, dir: dir, Port: freePort(tb), opts: opts}
	if opts.TLS {
		s.TLSPort = freePort(tb)
		s.cert = NewTestCert(tb)
		s.write("cert.pem", s.cert.CertPEM, 0o644)
		s.write("key.pem", s.cert.KeyPEM, 0o600)
	}
	for _, d := range []string{"etc", "queue", "data", "maildir"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	s.chown("data", "postfix")
	s.chown("maildir", "nobody")
	s.makeQueue()
	s.configure()
	tb.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	if !opts.Down {
		s.Start()
	}
	return s
}

// URL returns the kura SMTP URL of the plain port: mode is "" (no TLS) or
// "starttls".
func (s *SMTPServer) URL(mode string) string {
	u := "smtp://127.0.0.1:" + strconv.Itoa(s.Port)
	if mode != "" {
		u += "?tls=" + mode
	}
	return u
}

// TLSURL returns the smtps URL of the implicit TLS port.
func (s *SMTPServer) TLSURL() string { return "smtps://127.0.0.1:" + strconv.Itoa(s.TLSPort) }

// RootCAs returns a pool holding the server's test certificate, or nil
// without TLS.
func (s *SMTPServer) RootCAs() *x509.CertPool {
	if s.cert == nil {
		return nil
	}
	return s.cert.Pool()
}

// SetRefuse changes the server's answer to recipients (see
// SMTPOptions.Refuse), restarting it if it runs.
func (s *SMTPServer) SetRefuse(mode string) {
	s.tb.Helper()
	s.opts.Refuse = mode
	s.configure()
	if s.running {
		s.Stop()
		s.Start()
	}
}

// Start starts the server and returns once it accepts connections. It
// runs Postfix's master itself (-w: it returns once the master is ready),
// skipping postfix(1)'s checks of the installation, which take seconds.
func (s *SMTPServer) Start() {
	s.tb.Helper()
	out, err := osexec.Command(postfixMaster(s.tb), "-c", filepath.Join(s.dir, "etc"), "-w").CombinedOutput()
	if err != nil {
		s.tb.Fatalf("start postfix: %v: %s\n%s", err, out, s.logTail())
	}
	s.running = true
	Wait(s.tb, 0, "postfix to listen", func() bool { return s.listening() })
}

// Stop stops the server (SIGTERM to its master, which ends its children)
// and returns once it has exited.
func (s *SMTPServer) Stop() {
	s.tb.Helper()
	if !s.running {
		return
	}
	s.running = false
	pid := s.masterPID()
	if pid == 0 {
		return
	}
	syscall.Kill(pid, syscall.SIGTERM)
	if err := WaitErr(0, func() bool { return !s.listening() && !alive(pid) }); err != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		s.tb.Errorf("postfix did not stop: %v", err)
	}
}

// postfixMaster returns the path of Postfix's master program.
func postfixMaster(tb testing.TB) string {
	out, err := osexec.Command("postconf", "-h", "daemon_directory").Output()
	if err != nil {
		tb.Fatalf("postconf -h daemon_directory: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "master")
}

func (s *SMTPServer) listening() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// masterPID returns the pid in the instance's pid file, or 0.
func (s *SMTPServer) masterPID() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "queue", "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// logTail returns the end of the instance's log, for a failure message.
func (s *SMTPServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postfix.log"))
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// Log returns the instance's log.
func (s *SMTPServer) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postfix.log"))
	return string(b)
}

func (s *SMTPServer) write(name string, b []byte, mode os.FileMode) {
	if err := os.WriteFile(filepath.Join(s.dir, name), b, mode); err != nil {
		s.tb.Fatal(err)
	}
}

// chown gives name to owner, "user" or "user:group".
func (s *SMTPServer) chown(name, owner string) {
	s.tb.Helper()
	uname, gname, _ := strings.Cut(owner, ":")
	u, err := user.Lookup(uname)
	if err != nil {
		s.tb.Fatalf("user %s: %v", uname, err)
	}
	gid := u.Gid
	if gname != "" {
		g, err := user.LookupGroup(gname)
		if err != nil {
			s.tb.Fatalf("group %s: %v", gname, err)
		}
		gid = g.Gid
	}
	uid, _ := strconv.Atoi(u.Uid)
	gidn, _ := strconv.Atoi(gid)
	if err := os.Chown(filepath.Join(s.dir, name), uid, gidn); err != nil {
		s.tb.Fatal(err)
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// configure writes main.cf and master.cf.
func (s *SMTPServer) configure() {
	d := s.dir
	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + d + "/queue",
		"data_directory = " + d + "/data",
		"maillog_file = " + d + "/postfix.log",
		"maillog_file_prefixes = " + d,
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = mail.kura.test",
		"mydestination =",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks, reject",
		"virtual_mailbox_domains = static:ALL",
		"virtual_mailbox_base = " + d + "/maildir",
		"virtual_mailbox_maps = static:inbox/",
		"virtual_uid_maps = static:65534",
		"virtual_gid_maps = static:65534",
		"virtual_minimum_uid = 100",
		"smtputf8_enable = yes",
	}
	switch s.opts.Refuse {
	case "temporary":
		main = append(main, "smtpd_recipient_restrictions = defer")
	case "permanent":
		main = append(main, "smtpd_recipient_restrictions = reject")
	case "":
	default:
		s.tb.Fatalf("SMTPOptions.Refuse %q is not temporary or permanent", s.opts.Refuse)
	}
	listen := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", s.Port)
	if s.cert != nil {
		main = append(main, "smtpd_tls_cert_file = "+d+"/cert.pem", "smtpd_tls_key_file = "+d+"/key.pem",
			"smtpd_tls_security_level = may", "smtpd_tls_loglevel = 1")
		listen += fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes -o smtpd_tls_security_level=encrypt\n", s.TLSPort)
	}
	s.write("etc/main.cf", []byte(strings.Join(main, "\n")+"\n"), 0o644)
	s.write("etc/master.cf", []byte(listen+postfixServices), 0o644)
}

// postfixServices are master.cf's internal services, none chrooted.
const postfixServices = `pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000? 0  flush
proxymap  unix  -  -  n  -     -  proxymap
smtp      unix  -  -  n  -     -  smtp
relay     unix  -  -  n  -     -  smtp
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
virtual   unix  -  n  n  -     -  virtual
anvil     unix  -  -  n  -     1  anvil
tlsmgr    unix  -  -  n  1000? 1  tlsmgr
scache    unix  -  -  n  -     1  scache
postlog   unix-dgram n - n - 1 postlogd
`

// makeQueue makes the queue's folders as postfix(1)'s check would.
func (s *SMTPServer) makeQueue() {
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace", "maildrop", "public", "pid"} {
		path := filepath.Join("queue", d)
		if err := os.Mkdir(filepath.Join(s.dir, path), 0o700); err != nil {
			s.tb.Fatal(err)
		}
		switch d {
		case "pid":
			os.Chmod(filepath.Join(s.dir, path), 0o755)
		case "maildrop":
			s.chown(path, "postfix:postdrop")
			os.Chmod(filepath.Join(s.dir, path), 0o730)
		case "public":
			s.chown(path, "postfix:postdrop")
			os.Chmod(filepath.Join(s.dir, path), 0o710)
		default:
			s.chown(path, "postfix")
		}
	}
}
