package testenv

import (
	"fmt"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PGReplicaSet is a PostgreSQL primary and a streaming replica of the
// test's own, made in a temporary folder on free ports of 127.0.0.1 with
// the server programs of the machine (initdb, pg_ctl, pg_basebackup). It
// never touches the shared server. Both run as the postgres account when
// the test runs as root (initdb refuses root); both are stopped and their
// folder removed when the test ends, whether it passed or not.
type PGReplicaSet struct {
	tb                       testing.TB
	bin, dir                 string
	PrimaryPort, ReplicaPort string
	// ApplyDelay is the replica's recovery_min_apply_delay: how long after
	// its commit on the primary a change becomes visible on the replica.
	ApplyDelay time.Duration
}

// StartPGReplicaSet makes and starts a primary (wal_level=replica,
// replication over 127.0.0.1 trusted) and a replica taken from it with
// pg_basebackup -R that applies changes applyDelay after their commit
// (recovery_min_apply_delay; zero applies them at once). It returns once
// both accept connections. Without the server programs the test is
// skipped, and failed under CI=true; any later step that fails fails it.
func StartPGReplicaSet(tb testing.TB, applyDelay time.Duration) *PGReplicaSet {
	tb.Helper()
	s := &PGReplicaSet{tb: tb, bin: pgBinDir(tb), ApplyDelay: applyDelay,
		PrimaryPort: FreePort(tb), ReplicaPort: FreePort(tb)}
	dir, err := os.MkdirTemp("", "kura-pgreplica-")
	if err != nil {
		tb.Fatal(err)
	}
	s.dir = dir
	tb.Cleanup(s.remove)
	s.ownByPostgres(dir)
	s.initPrimary()
	s.run("pg_basebackup", "-h", "127.0.0.1", "-p", s.PrimaryPort, "-U", "postgres",
		"-D", s.path("replica"), "-R", "-X", "stream", "--no-sync")
	s.appendConf("replica", fmt.Sprintf("port = %s\nhot_standby = on\nrecovery_min_apply_delay = '%dms'\n",
		s.ReplicaPort, applyDelay.Milliseconds()))
	s.StartReplica()
	return s
}

// PrimaryURL returns the URL of the primary's postgres database.
func (s *PGReplicaSet) PrimaryURL() string { return s.url(s.PrimaryPort) }

// ReplicaURL returns the URL of the replica's postgres database.
func (s *PGReplicaSet) ReplicaURL() string { return s.url(s.ReplicaPort) }

func (s *PGReplicaSet) url(port string) string {
	return "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
}

// StopReplica stops the replica at once (pg_ctl stop -m immediate), as a
// crash or a lost machine would.
func (s *PGReplicaSet) StopReplica() {
	s.tb.Helper()
	s.run("pg_ctl", "-D", s.path("replica"), "-m", "immediate", "-w", "stop")
}

// StartReplica starts the replica and returns once it accepts connections.
func (s *PGReplicaSet) StartReplica() {
	s.tb.Helper()
	s.run("pg_ctl", "-D", s.path("replica"), "-l", s.path("replica.log"), "-w", "-t", "60", "start")
}

func (s *PGReplicaSet) initPrimary() {
	s.tb.Helper()
	s.run("initdb", "-D", s.path("primary"), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	s.appendConf("primary", fmt.Sprintf("port = %s\nlisten_addresses = '127.0.0.1'\n"+
		"unix_socket_directories = '%s'\nwal_level = replica\nmax_wal_senders = 4\n"+
		"fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\n",
		s.PrimaryPort, s.dir))
	hba, err := os.OpenFile(s.path("primary/pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.tb.Fatal(err)
	}
	_, err = hba.WriteString("host replication all 127.0.0.1/32 trust\n")
	if cerr := hba.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.tb.Fatal(err)
	}
	s.run("pg_ctl", "-D", s.path("primary"), "-l", s.path("primary.log"), "-w", "-t", "60", "start")
}

// appendConf adds settings to the postgresql.auto.conf of a data folder,
// which win over postgresql.conf.
func (s *PGReplicaSet) appendConf(data, text string) {
	s.tb.Helper()
	f, err := os.OpenFile(s.path(data, "postgresql.auto.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		s.tb.Fatal(err)
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.tb.Fatal(err)
	}
}

func (s *PGReplicaSet) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

// run runs a server program, as postgres when the test runs as root, and
// fails the test with its output (and the server logs) if it fails.
func (s *PGReplicaSet) run(prog string, args ...string) {
	s.tb.Helper()
	if out, err := s.command(prog, args...).CombinedOutput(); err != nil {
		s.tb.Fatalf("%s %s: %v\n%s%s", prog, strings.Join(args, " "), err, out, s.logs())
	}
}

func (s *PGReplicaSet) command(prog string, args ...string) *osexec.Cmd {
	path := filepath.Join(s.bin, prog)
	if os.Geteuid() == 0 {
		return osexec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return osexec.Command(path, args...)
}

// logs returns the tail of the servers' logs, for a failure message.
func (s *PGReplicaSet) logs() string {
	var b strings.Builder
	for _, name := range []string{"primary.log", "replica.log"} {
		data, err := os.ReadFile(s.path(name))
		if err != nil {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", name, data)
	}
	return b.String()
}

// remove stops both servers, if they run, and removes the folder.
func (s *PGReplicaSet) remove() {
	for _, data := range []string{"replica", "primary"} {
		if _, err := os.Stat(s.path(data, "postmaster.pid")); err == nil {
			_ = s.command("pg_ctl", "-D", s.path(data), "-m", "immediate", "-w", "stop").Run()
		}
	}
	os.RemoveAll(s.dir)
}

// ownByPostgres gives dir to the postgres account when the test runs as
// root, so that the servers, run as postgres, can write there.
func (s *PGReplicaSet) ownByPostgres(dir string) {
	s.tb.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		s.need("the postgres account does not exist (the server programs refuse to run as root)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		s.tb.Fatal(err)
	}
}

func (s *PGReplicaSet) need(msg string) {
	s.tb.Helper()
	if CI() {
		s.tb.Fatal(msg + " (CI=true: tests must not skip)")
	}
	s.tb.Skip(msg)
}

// pgBinDir returns the folder of the PostgreSQL server programs: the one
// in KURA_TEST_PG_BIN, else the newest /usr/lib/postgresql/*/bin.
func pgBinDir(tb testing.TB) string {
	tb.Helper()
	dirs := []string{os.Getenv("KURA_TEST_PG_BIN")}
	if dirs[0] == "" {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
		dirs = found
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_basebackup")); err == nil {
			return d
		}
	}
	msg := "the PostgreSQL server programs (initdb, pg_ctl, pg_basebackup) are not installed; " +
		"install them with: apt-get install postgresql, or set KURA_TEST_PG_BIN"
	if CI() {
		tb.Fatal(msg + " (CI=true: tests must not skip)")
	}
	tb.Skip(msg)
	return ""
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}
