package deploy_test

// A stand-in for systemd, for the deploy tests on machines where systemd
// does not run (a container): systemctl show, start, stop and restart, and
// journalctl -u, over the real kura.service installed under a folder that
// stands for the host's root. It does what deploy.sh relies on, as systemd
// does it: the service's environment is the unit's Environment= lines, then
// its EnvironmentFile= files, which override them (drop-ins in
// kura.service.d included); it runs in WorkingDirectory=; StateDirectory=
// folders are made with StateDirectoryMode= and, with DynamicUser=, given
// to the service's user (here 65532, when the test runs as root), their
// content too when the folder's owner differs; Type=notify: start returns
// once the service sent READY=1 on NOTIFY_SOCKET, or fails when it exits
// first; show reports the main process's state and how it ended. The test
// binary is the tool: TestMain runs fakeSystemd when KURA_FAKE_SYSTEMD_TOOL
// is set, as the wrapper scripts in the host's bin folder set it.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// serviceUID is the user a DynamicUser= unit runs as, here.
const serviceUID = 65532

// fakeSystemd runs one tool (systemctl, journalctl, or the supervisor of
// the service) for the host whose root is root, and returns its exit status.
func fakeSystemd(tool, root string, args []string) int {
	h := &fakeHost{root: root}
	var err error
	switch tool {
	case "systemctl":
		return h.systemctl(args)
	case "journalctl":
		err = h.journalctl(args)
	case "supervise":
		err = h.supervise(args[0])
	default:
		err = fmt.Errorf("no tool %q", tool)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, tool+":", err)
		return 1
	}
	return 0
}

// installFakeSystemd writes systemctl and journalctl into root/bin, each a
// script that runs this test binary as that tool for the host root.
func installFakeSystemd(root string) (binDir string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	binDir = filepath.Join(root, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	for _, tool := range []string{"systemctl", "journalctl"} {
		script := fmt.Sprintf("#!/bin/sh\nKURA_FAKE_SYSTEMD_TOOL=%s KURA_FAKE_SYSTEMD_ROOT='%s' exec '%s' \"$@\"\n", tool, root, self)
		if err := os.WriteFile(filepath.Join(binDir, tool), []byte(script), 0o755); err != nil {
			return "", err
		}
	}
	return binDir, nil
}

// fakeHost is the host of root.
type fakeHost struct{ root string }

// unit is what the fake reads of a service unit, drop-ins applied.
type unit struct {
	name         string
	loaded       bool
	env          []string // Environment=, in order
	envFiles     []string // EnvironmentFile=, a leading - for optional
	workDir      string
	execStart    []string
	stateDirs    []string
	stateDirMode fs.FileMode
	dynamicUser  bool
}

// unitState is the fake's record of the service's main process.
type unitState struct {
	SupervisorPID  int
	MainPID        int
	ActiveState    string
	SubState       string
	ExecMainCode   int // 1 exited, 2 killed
	ExecMainStatus int
	NRestarts      int
	Stopping       bool
}

func (h *fakeHost) path(p string) string { return filepath.Join(h.root, p) }

func (h *fakeHost) statePath(name string) string { return h.path("run/" + name + ".state") }

func (h *fakeHost) journalPath(name string) string { return h.path("var/log/" + name + ".journal") }

func (h *fakeHost) readState(name string) unitState {
	st := unitState{ActiveState: "inactive", SubState: "dead"}
	if b, err := os.ReadFile(h.statePath(name)); err == nil {
		json.Unmarshal(b, &st)
	}
	return st
}

func (h *fakeHost) writeState(name string, st unitState) error {
	b, _ := json.Marshal(st)
	if err := os.MkdirAll(h.path("run"), 0o755); err != nil {
		return err
	}
	tmp := h.statePath(name) + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, h.statePath(name))
}

// readUnit reads etc/systemd/system/NAME.service and its drop-ins.
func (h *fakeHost) readUnit(name string) (*unit, error) {
	name = strings.TrimSuffix(name, ".service")
	u := &unit{name: name, stateDirMode: 0o755, workDir: "/"}
	file := h.path("etc/systemd/system/" + name + ".service")
	files := []string{file}
	if _, err := os.Stat(file); err != nil {
		return u, nil
	}
	u.loaded = true
	dropIns, _ := filepath.Glob(h.path("etc/systemd/system/" + name + ".service.d/*.conf"))
	slices.Sort(dropIns)
	for _, f := range append(files, dropIns...) {
		if err := u.read(f); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (u *unit) read(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	section := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
			continue
		case strings.HasPrefix(line, "["):
			section = line
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || section != "[Service]" {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "Environment":
			if val == "" {
				u.env = nil
			}
			u.env = append(u.env, splitWords(val)...)
		case "EnvironmentFile":
			if val == "" {
				u.envFiles = nil
			} else {
				u.envFiles = append(u.envFiles, val)
			}
		case "WorkingDirectory":
			u.workDir = val
		case "ExecStart":
			u.execStart = splitWords(val)
		case "StateDirectory":
			u.stateDirs = append(u.stateDirs, splitWords(val)...)
		case "StateDirectoryMode":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return fmt.Errorf("%s: StateDirectoryMode=%s", file, val)
			}
			u.stateDirMode = fs.FileMode(m)
		case "DynamicUser":
			u.dynamicUser = val == "yes" || val == "true"
		}
	}
	return sc.Err()
}

// splitWords splits a unit's value into words as systemd does: on
// whitespace, with double or single quotes grouping and a backslash
// escaping the next character.
func splitWords(s string) []string {
	var words []string
	var w strings.Builder
	var quote rune
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(c)
		case c == '"' || c == '\'':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// environment is the service's environment, as systemd makes it: the
// unit's Environment=, then each EnvironmentFile=, whose assignments win.
func (u *unit) environment() ([]string, error) {
	vals := map[string]string{}
	var keys []string
	set := func(kv string) {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, kv := range u.env {
		set(kv)
	}
	for _, f := range u.envFiles {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		b, err := os.ReadFile(f)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("failed to load environment files: %w", err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				return nil, fmt.Errorf("%s: %q is not KEY=VALUE", f, line)
			}
			v = strings.TrimSpace(v)
			if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
				if w := splitWords(v); len(w) == 1 {
					v = w[0]
				}
			}
			set(strings.TrimSpace(k) + "=" + v)
		}
	}
	out := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, k := range keys {
		out = append(out, k+"="+vals[k])
	}
	return out, nil
}

// shellQuote quotes s as systemctl show prints the words of a list: bare
// when it needs no quoting, else in double quotes with \ before " \ ` $.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"\\`$*?[]'()<>|&;!~#") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

func (h *fakeHost) systemctl(args []string) int {
	var verb, name string
	var props []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-p" || a == "--property":
			i++
			props = append(props, strings.Split(args[i], ",")...)
		case strings.HasPrefix(a, "--property="):
			props = append(props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case strings.HasPrefix(a, "-"):
		case verb == "":
			verb = a
		case name == "":
			name = strings.TrimSuffix(a, ".service")
		}
	}
	u, err := h.readUnit(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch verb {
	case "show":
		h.show(u, props)
		return 0
	case "stop":
		err = h.stop(u)
	case "start":
		err = h.start(u)
	case "restart":
		if err = h.stop(u); err == nil {
			err = h.start(u)
		}
	default:
		err = fmt.Errorf("unknown command %q", verb)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func (h *fakeHost) show(u *unit, props []string) {
	st := h.readState(u.name)
	for _, p := range props {
		var lines []string
		switch p {
		case "LoadState":
			lines = []string{"not-found"}
			if u.loaded {
				lines = []string{"loaded"}
			}
		case "Environment":
			if len(u.env) > 0 {
				var q []string
				for _, w := range u.env {
					q = append(q, shellQuote(w))
				}
				lines = []string{strings.Join(q, " ")}
			}
		case "EnvironmentFiles":
			for _, f := range u.envFiles {
				lines = append(lines, fmt.Sprintf("%s (ignore_errors=%s)", strings.TrimPrefix(f, "-"), map[bool]string{true: "yes", false: "no"}[strings.HasPrefix(f, "-")]))
			}
		case "WorkingDirectory":
			lines = []string{u.workDir}
		case "ExecStart":
			if len(u.execStart) > 0 {
				lines = []string{fmt.Sprintf("{ path=%s ; argv[]=%s ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }",
					u.execStart[0], strings.Join(u.execStart, " "))}
			}
		case "MainPID":
			lines = []string{strconv.Itoa(st.MainPID)}
		case "ActiveState":
			lines = []string{st.ActiveState}
		case "SubState":
			lines = []string{st.SubState}
		case "ExecMainCode":
			lines = []string{strconv.Itoa(st.ExecMainCode)}
		case "ExecMainStatus":
			lines = []string{strconv.Itoa(st.ExecMainStatus)}
		case "NRestarts":
			lines = []string{strconv.Itoa(st.NRestarts)}
		}
		for _, l := range lines {
			fmt.Printf("%s=%s\n", p, l)
		}
	}
}

// stop ends the service's main process with SIGTERM and waits for its
// supervisor to record how it ended (TimeoutStopSec=30s, then SIGKILL).
func (h *fakeHost) stop(u *unit) error {
	st := h.readState(u.name)
	if st.SupervisorPID == 0 || !alive(st.SupervisorPID) {
		return nil
	}
	st.Stopping = true
	st.ActiveState, st.SubState = "deactivating", "stop-sigterm"
	if err := h.writeState(u.name, st); err != nil {
		return err
	}
	syscall.Kill(st.MainPID, syscall.SIGTERM)
	gone := func() bool { return !alive(st.SupervisorPID) }
	if testenv.WaitErr(30*time.Second, gone) != nil { // TimeoutStopSec
		syscall.Kill(st.MainPID, syscall.SIGKILL)
		return testenv.WaitErr(10*time.Second, gone)
	}
	return nil
}

// start makes the state folders and starts the supervisor of the service,
// then waits, as for Type=notify, for READY=1 or the process's end.
func (h *fakeHost) start(u *unit) error {
	if !u.loaded {
		return fmt.Errorf("Unit %s.service not found.", u.name)
	}
	for _, d := range u.stateDirs {
		if err := h.stateDir(u, h.path(filepath.Join("var/lib", d))); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	prev := h.readState(u.name)
	if err := h.writeState(u.name, unitState{ActiveState: "activating", SubState: "start", NRestarts: prev.NRestarts}); err != nil {
		return err
	}
	cmd := exec.Command(self, u.name)
	cmd.Env = []string{"KURA_FAKE_SYSTEMD_TOOL=supervise", "KURA_FAKE_SYSTEMD_ROOT=" + h.root}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	cmd.Process.Release()
	var state string
	if testenv.WaitErr(120*time.Second, func() bool { // TimeoutStartSec
		state = h.readState(u.name).ActiveState
		return state != "activating"
	}) != nil {
		return fmt.Errorf("Job for %s.service failed because a timeout was exceeded.", u.name)
	}
	if state != "active" {
		return fmt.Errorf("Job for %s.service failed because the control process exited with error code.\n"+
			"See \"systemctl status %s.service\" and \"journalctl -xeu %s.service\" for details.", u.name, u.name, u.name)
	}
	return nil
}

// stateDir makes a StateDirectory= folder as systemd does: with the unit's
// mode, owned by the service's user; one that exists with another owner
// is given to it with all it holds.
func (h *fakeHost) stateDir(u *unit, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil { // /var/lib
		return err
	}
	if err := os.Mkdir(dir, u.stateDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := os.Chmod(dir, u.stateDirMode); err != nil {
		return err
	}
	if !u.dynamicUser || os.Getuid() != 0 {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok && s.Uid == serviceUID && s.Gid == serviceUID {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, serviceUID, serviceUID)
	})
}

// supervise runs the service's main process, as systemd would, and records
// its state: activating, active once it sends READY=1, then how it ended.
func (h *fakeHost) supervise(name string) error {
	u, err := h.readUnit(name)
	if err != nil {
		return err
	}
	st := h.readState(name)
	st.SupervisorPID = os.Getpid()
	fail := func(err error) error {
		st.ActiveState, st.SubState, st.ExecMainCode, st.ExecMainStatus = "failed", "failed", 1, 1
		h.writeState(name, st)
		return err
	}
	env, err := u.environment()
	if err != nil {
		return fail(err)
	}
	sock := h.path("run/" + name + ".notify")
	os.Remove(sock)
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return fail(err)
	}
	defer ln.Close()
	if u.dynamicUser && os.Getuid() == 0 {
		os.Chown(sock, serviceUID, serviceUID)
	}
	if err := os.MkdirAll(filepath.Dir(h.journalPath(name)), 0o755); err != nil {
		return fail(err)
	}
	journal, err := os.OpenFile(h.journalPath(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fail(err)
	}
	defer journal.Close()
	cmd := exec.Command(u.execStart[0], u.execStart[1:]...)
	cmd.Env = append(env, "NOTIFY_SOCKET="+sock)
	cmd.Dir = u.workDir
	cmd.Stdout, cmd.Stderr = journal, journal
	if u.dynamicUser && os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: serviceUID, Gid: serviceUID}}
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(journal, "%s.service: Failed to execute %s: %v\n", name, u.execStart[0], err)
		return fail(err)
	}
	st.MainPID = cmd.Process.Pid
	h.writeState(name, st)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := ln.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if slices.Contains(strings.Split(string(buf[:n]), "\n"), "READY=1") {
				cur := h.readState(name)
				if cur.ActiveState == "activating" {
					cur.ActiveState, cur.SubState = "active", "running"
					h.writeState(name, cur)
				}
			}
		}
	}()
	err = cmd.Wait()
	st = h.readState(name)
	st.ExecMainCode, st.ExecMainStatus = 1, 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.ExecMainCode, st.ExecMainStatus = 2, int(ws.Signal())
		} else {
			st.ExecMainStatus = exit.ExitCode()
		}
	}
	switch {
	case st.Stopping || err == nil:
		st.ActiveState, st.SubState = "inactive", "dead"
	default:
		st.ActiveState, st.SubState = "failed", "failed"
		fmt.Fprintf(journal, "%s.service: Main process exited, code=exited, status=%d/FAILURE\n", name, st.ExecMainStatus)
	}
	st.Stopping = false
	return h.writeState(name, st)
}

// journalctl -u NAME [-n N]: the last lines the service wrote.
func (h *fakeHost) journalctl(args []string) error {
	name, n := "", 10
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-u":
			i++
			name = strings.TrimSuffix(args[i], ".service")
		case "-n":
			i++
			n, _ = strconv.Atoi(args[i])
		}
	}
	b, err := os.ReadFile(h.journalPath(name))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Println(strings.Join(lines, "\n"))
	return nil
}
