//go:build linux

package backup_test

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/sqldb"
)

// proc is a backup command run by a process of its own (this test
// binary, see TestMain), for a test to kill.
type proc struct {
	cmd       *exec.Cmd
	stderr    strings.Builder
	inspected chan struct{} // closed once the restore has looked at its target
	exited    chan struct{}
	err       error
}

func startProc(t *testing.T, command string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"KURA_BACKUP_TEST_CHILD=" + command}, env...)...)
	p := &proc{cmd: cmd, inspected: make(chan struct{}), exited: make(chan struct{})}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "INSPECTED" {
				once.Do(func() { close(p.inspected) })
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	return p
}

// wait waits for the process to exit and returns how it did.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(5 * time.Minute):
		t.Fatal("the backup command did not exit within 5 minutes")
		return nil
	}
}

func (p *proc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// program returns the pid of the dump or restore program the process
// runs (not a quick --version), or 0.
func (p *proc) program() int {
	for _, pid := range p.children() {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if len(cmdline) > 0 && !strings.Contains(string(cmdline), "--version") {
			return pid
		}
	}
	return 0
}

// children returns the pids of the process's child processes.
func (p *proc) children() []int {
	pid := strconv.Itoa(p.cmd.Process.Pid)
	tasks, _ := os.ReadDir("/proc/" + pid + "/task")
	var out []int
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/" + pid + "/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// TestRestore_KilledAnywhere kills restores with SIGKILL at random points,
// the kura process or the program it runs (pg_restore, mariadb,
// mariadb-dump), on a database of thousands of users: after every kill the
// target holds either all of its old content or all of the backup's,
// never a mix, and the next restore clears what the killed one left and
// succeeds.
func TestRestore_KilledAnywhere(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	eachEngine(t, func(t *testing.T, e engine) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(seed, uint64(len(e.name))))
		srcURL := e.url(t)
		mustOpen(t, srcURL, 3000).Close()
		cfg := config(t, srcURL)
		m, err := backup.Create(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		to := e.url(t)
		mustOpen(t, to, 2000).Close()
		before, err := backup.Create(ctx, backup.Config{URL: to, Dir: cfg.Dir})
		if err != nil {
			t.Fatal(err)
		}
		old := before.Tables
		if backup.CompareSums(old, m.Tables) == "" {
			t.Fatal("the target and the backup hold the same content")
		}
		putBack := func() {
			t.Helper()
			if err := backup.Restore(ctx, before, cfg, backup.RestoreOptions{To: to, Force: true, OtherDatabase: true}); err != nil {
				t.Fatalf("put the old content back: %v", err)
			}
		}
		env := []string{"KURA_TEST_DIR=" + cfg.Dir, "KURA_TEST_NAME=" + m.Name, "KURA_TEST_TO=" + to}

		// A whole restore, timed: the kills fall within such a time.
		start := time.Now()
		p := startProc(t, "restore", env...)
		if err := p.wait(t); err != nil {
			t.Fatalf("a restore not killed: %v\n%s", err, p.stderr.String())
		}
		took := time.Since(start)
		t.Logf("a whole restore of %d rows, in a process of its own: %s", m.Rows(), took.Round(time.Millisecond))
		if got := contentOf(t, to, old, m.Tables); got != "new" {
			t.Fatalf("after a whole restore the target holds %s", got)
		}
		putBack()

		outcomes := map[string]int{}
		const kills = 8
		for i := range kills {
			killProgram := i%2 == 1 && e.d != sqldb.SQLite // SQLite's restore runs no program
			p := startProc(t, "restore", env...)
			what := "kura"
			if killProgram {
				var pid int
				testenv.Wait(t, time.Minute, "the restore's program", func() bool {
					pid = p.program()
					return pid != 0 || p.done()
				})
				if pid != 0 {
					// Where the kill falls is random; what it leaves must not be.
					time.Sleep(time.Duration(rng.Int64N(int64(took / 2))))
					syscall.Kill(pid, syscall.SIGKILL)
					what = "its program"
				}
			} else {
				time.Sleep(time.Duration(rng.Int64N(int64(took))))
				p.cmd.Process.Kill()
			}
			err := p.wait(t)
			got := contentOf(t, to, old, m.Tables)
			t.Logf("kill %d (%s): exit %v, the target holds the %s content", i+1, what, err, got)
			if got != "old" && got != "new" {
				t.Fatalf("after a kill the target holds a %s\n%s", got, p.stderr.String())
			}
			if err != nil && got == "new" && what == "its program" {
				t.Fatalf("the restore failed (%v) but the target was replaced", err)
			}
			if err == nil && got != "new" {
				t.Fatalf("the restore succeeded but the target holds the old content")
			}
			if err != nil && what == "its program" && !strings.Contains(p.stderr.String(), "the target database is as it was") {
				t.Errorf("a failed restore does not say the target is as it was:\n%s", p.stderr.String())
			}
			outcomes[got]++
			if got == "new" {
				putBack()
			}
		}
		t.Logf("after %d kills: %v", kills, outcomes)

		// The next restore clears what the killed ones left, and succeeds.
		if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to, Force: true, OtherDatabase: true}); err != nil {
			t.Fatal(err)
		}
		if got := contentOf(t, to, old, m.Tables); got != "new" {
			t.Fatalf("after the last restore the target holds %s", got)
		}
		switch e.d {
		case sqldb.SQLite:
			path, _ := sqldb.SQLitePath(to)
			entries, _ := os.ReadDir(filepath.Dir(path))
			for _, en := range entries {
				if strings.HasPrefix(en.Name(), ".tmp-") {
					t.Errorf("left beside the target: %s", en.Name())
				}
			}
		case sqldb.MySQL:
			testenv.Wait(t, time.Minute, "no dead restore's scratch database", func() bool {
				backup.SweepServer(ctx, to)
				return len(deadRestores(t, to)) == 0
			})
		}
	})
}

// TestCreate_KilledLeavesNoSecret kills backups with SIGKILL while their
// dump program runs, on the servers, with a password in the database URL:
// neither the backup folder nor the system's temporary folder holds the
// password after, the dump program dies with kura, a credentials file an
// older kura left in the folder is gone, and the next backup sweeps what
// the killed one left.
func TestCreate_KilledLeavesNoSecret(t *testing.T) {
	const secret = "k1lled-Pw:Zq9"
	for _, e := range engines[1:] {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			started := time.Now()
			raw := e.url(t)
			mustOpen(t, raw, 20000).Close()
			withSecret := withPassword(t, e, raw, secret)
			cfg := config(t, withSecret)
			if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			oldCred := filepath.Join(cfg.Dir, ".tmp-cred-123456")
			if err := os.WriteFile(oldCred, []byte("password="+secret+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			p := startProc(t, "create", "KURA_TEST_URL="+withSecret, "KURA_TEST_DIR="+cfg.Dir)
			var dump int
			testenv.Wait(t, time.Minute, "the dump program", func() bool {
				dump = p.program()
				return dump != 0 || p.done()
			})
			if dump == 0 {
				t.Fatalf("the backup ended before its dump could be killed: %v\n%s", p.wait(t), p.stderr.String())
			}
			p.cmd.Process.Kill()
			p.wait(t)
			testenv.Wait(t, 0, "the dump program to die with kura", func() bool {
				_, err := os.Stat("/proc/" + strconv.Itoa(dump))
				return os.IsNotExist(err)
			})
			if _, err := os.Stat(oldCred); !os.IsNotExist(err) {
				t.Errorf("the old credentials file is still there: %v", err)
			}
			for _, root := range []string{cfg.Dir, os.TempDir()} {
				if found := filesHolding(t, root, secret, started); len(found) > 0 {
					t.Errorf("the password is in %v", found)
				}
			}
			left, _ := os.ReadDir(cfg.Dir)
			if len(left) == 0 {
				t.Fatal("the killed backup left no partial file: was it killed mid-dump?")
			}
			// The next backup sweeps what the killed one left.
			m, err := backup.Create(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(cfg.Dir)
			for _, en := range entries {
				if en.Name() != m.Name+".json" && en.Name() != m.File {
					t.Errorf("left after the next backup: %s", en.Name())
				}
			}
		})
	}
}

// filesHolding returns the regular files under root, changed since since,
// that hold s.
func filesHolding(t *testing.T, root, s string, since time.Time) []string {
	t.Helper()
	var found []string
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().Before(since) || fi.Size() > 64<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), s) {
			found = append(found, path)
		}
		return nil
	})
	return found
}
