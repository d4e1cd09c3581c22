package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// unitServer is a temporary folder standing for the root of a host set up
// as docs/DEPLOY.md's single-VPS path says: deploy/kura.service installed
// (its /opt/kura, /var/lib/kura and /etc/kura under the folder), an empty
// /etc/kura/kura.env unless the test writes one, and systemd's tools,
// which fakesystemd_test.go stands in for. A drop-in (what systemctl edit
// writes) gives the service a free port and turns its own backups and
// metrics listener off.
type unitServer struct {
	root, base, path string
}

func newUnitServer(t *testing.T, kuraEnv string) *unitServer {
	t.Helper()
	testenv.Tool(t, "flock", "util-linux")
	root := t.TempDir()
	// The service's user (65532 when the test runs as root) must reach its
	// files, as it would under / .
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("kura.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.NewReplacer("/opt/kura", root+"/opt/kura", "/var/lib/kura", root+"/var/lib/kura", "/etc/kura/", root+"/etc/kura/").Replace(string(b))
	port := freePort(t)
	files := map[string]string{
		"etc/systemd/system/kura.service": unit,
		"etc/systemd/system/kura.service.d/test.conf": "[Service]\nEnvironment=KURA_ADDR=127.0.0.1:" + port +
			" KURA_METRICS_ADDR= KURA_LOG_FLUSH_INTERVAL=0 KURA_BACKUP_INTERVAL=0\n",
		"etc/kura/kura.env": kuraEnv,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := installFakeSystemd(root)
	if err != nil {
		t.Fatal(err)
	}
	s := &unitServer{root: root, base: "http://127.0.0.1:" + port, path: bin + ":" + os.Getenv("PATH")}
	t.Cleanup(func() {
		if out, err := s.systemctl("stop", "kura"); err != nil {
			t.Errorf("systemctl stop kura: %v\n%s", err, out)
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(root, "var/log/kura.journal"))
			t.Logf("the service's journal:\n%s", b)
		}
	})
	return s
}

func (s *unitServer) systemctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.root, "bin", "systemctl"), args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// deploy runs deploy.sh as an operator would, sudo deploy/deploy.sh
// NEW_BINARY from the folder dir, with only the prefix (the host's
// /opt/kura is under the test's folder) and the timeout given, and returns
// its output and exit status.
func (s *unitServer) deploy(t *testing.T, dir string, timeout int, args ...string) (string, int) {
	t.Helper()
	script, err := filepath.Abs("deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{script, "--prefix", filepath.Join(s.root, "opt", "kura"), "--timeout", strconv.Itoa(timeout)}, args...)
	cmd := exec.Command("bash", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + s.path}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("deploy.sh: %v\n%s", err, out)
	return "", 0
}

// version returns the version GET / reports.
func (s *unitServer) version(t *testing.T) string {
	t.Helper()
	return servedVersion(t, s.base, filepath.Join(s.root, "var/log/kura.journal"))
}

// decoy makes a folder holding ./data/kura.db, a kura database that is not
// the service's, as the folder an operator runs deploy.sh from might: a
// checkout with a development database. It returns the folder and a
// function that reports whether the database changed since.
func decoy(t *testing.T, kura string) (string, func() string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(kura, "migrate", "up", "--env-file=")
	cmd.Dir, cmd.Env = dir, []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the decoy database: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "data", "kura.db")
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	return dir, func() string {
		after, _ := os.ReadFile(db)
		if string(after) != string(before) {
			return "./data/kura.db changed"
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "backups")); err == nil {
			return "./data/backups was made"
		}
		return ""
	}
}

// manifests returns the backups' manifests in dir, decoded.
func manifests(t *testing.T, dir string) []map[string]any {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "kura-*.json"))
	var out []map[string]any
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestDeployScript_Unit follows docs/DEPLOY.md's single-VPS path: the
// unit sets DATABASE_URL and kura.env is empty, and deploy.sh runs from a
// folder holding another ./data/kura.db. deploy.sh reads the unit's
// configuration: it names the service's database, backs it up (the
// backup's source is that database; its files belong to the service's
// user) and migrates it, and never touches the other one. A new binary
// that crashes at start is seen exiting at once, with its status and last
// log lines, and rolled back; one whose backup is of another database
// than the one it would migrate is refused before it migrates.
func TestDeployScript_Unit(t *testing.T) {
	v1, v2 := kuraBinary(t, "v0.0.1-deploy"), kuraBinary(t, "v0.0.2-deploy")
	s := newUnitServer(t, "")
	dir, changed := decoy(t, v1)
	dbFile := filepath.Join(s.root, "var/lib/kura/kura.db")
	backups := filepath.Join(s.root, "var/lib/kura/backups")

	out, code := s.deploy(t, dir, 60, v1)
	if code != 0 || !strings.Contains(out, "configuration: systemd unit kura") || !strings.Contains(out, "first install") ||
		!strings.Contains(out, "kura serve migrates the database then") {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	if got := s.version(t); got != "v0.0.1-deploy" {
		t.Fatalf("after the first deploy the service reports %s\n%s", got, out)
	}
	roundTrip(t, s.base, true)

	out, code = s.deploy(t, dir, 60, v2)
	if code != 0 || s.version(t) != "v0.0.2-deploy" {
		t.Fatalf("deploy of v0.0.2: exit %d\n%s", code, out)
	}
	for _, what := range []string{"database", "migrated"} {
		if !regexp.MustCompile(what + `: sqlite file ` + regexp.QuoteMeta(dbFile) + ` on \S+, identity [0-9a-f]{32}\n`).MatchString(out) {
			t.Errorf("deploy.sh does not name the service's database (%s):\n%s", what, out)
		}
	}
	all := manifests(t, backups)
	if len(all) != 1 || !strings.Contains(out, "pre-deploy backup: "+all[0]["name"].(string)) {
		t.Fatalf("%d backups in the service's folder after an upgrade, want 1\n%s", len(all), out)
	}
	if src, _ := all[0]["source"].(map[string]any); src["database"] != dbFile {
		t.Errorf("the pre-deploy backup's source is %v, want %s", all[0]["source"], dbFile)
	}
	if os.Getuid() == 0 {
		// Taken as root, its files belong to the service's user, whose own
		// prune and list read them.
		files, _ := filepath.Glob(filepath.Join(backups, "kura-*"))
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil || fi.Sys().(*syscall.Stat_t).Uid != serviceUID {
				t.Errorf("%s is not the service's user's: %v", f, err)
			}
		}
	}
	if c := changed(); c != "" {
		t.Errorf("deploy.sh acted on the folder it was run from: %s", c)
	}
	roundTrip(t, s.base, false)

	// A build that crashes at start: deploy.sh sees the process exit and
	// rolls back at once, well within the timeout.
	broken := filepath.Join(t.TempDir(), "kura-broken")
	if err := os.WriteFile(broken, []byte(fmt.Sprintf(brokenScript, v2)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(broken), 0o755)
	start := time.Now()
	out, code = s.deploy(t, dir, 60, broken)
	took := time.Since(start)
	t.Logf("the failed deploy and its rollback took %s", took.Round(time.Millisecond))
	if code != 1 {
		t.Fatalf("deploy of a broken binary: exit %d, want 1 (rolled back)\n%s", code, out)
	}
	for _, want := range []string{"the kura process the restart started exited with status 2 before /health answered", "| kura: this build crashes at start",
		"rolled back: kura v0.0.2-deploy", "systemctl stop kura",
		"backup restore --env-file= --dir " + backups + " --to " + dbFile + " --force kura-"} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy.sh's output lacks %q:\n%s", want, out)
		}
	}
	if took > 45*time.Second {
		t.Errorf("the rollback took %s: deploy.sh waited for the timeout instead of seeing the process exit", took)
	}
	if got := s.version(t); got != "v0.0.2-deploy" {
		t.Fatalf("after the rollback the service reports %s", got)
	}
	roundTrip(t, s.base, false)

	// A binary whose backup is of another database than the one it would
	// migrate: refused before the migrations, and nothing is swapped.
	other := filepath.Join(t.TempDir(), "other.db")
	mig := exec.Command(v2, "migrate", "up", "--env-file=")
	mig.Env = []string{"DATABASE_URL=sqlite:" + other}
	if b, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate the other database: %v\n%s", err, b)
	}
	liar := filepath.Join(t.TempDir(), "kura-liar")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1 $2\" = \"backup create\" ]; then export DATABASE_URL=sqlite:%s; fi\nexec %s \"$@\"\n", other, v2)
	if err := os.WriteFile(liar, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, code = s.deploy(t, dir, 60, liar)
	if code != 1 || !strings.Contains(out, "is of sqlite file "+other) || !strings.Contains(out, "stopped, nothing migrated") {
		t.Fatalf("a backup of another database: exit %d, want a refusal naming it\n%s", code, out)
	}
	if strings.Contains(out, "migrated:") || strings.Contains(out, "restarting") {
		t.Errorf("deploy.sh went on after the refusal:\n%s", out)
	}
	if got := s.version(t); got != "v0.0.2-deploy" {
		t.Errorf("after the refusal the service reports %s", got)
	}
}

// TestDeployScript_UnitEnvFile: kura.env sets DATABASE_URL, which wins
// over the unit's, as systemd makes it win: deploy.sh backs up and
// migrates the PostgreSQL database the service serves, not the SQLite
// file the unit names.
func TestDeployScript_UnitEnvFile(t *testing.T) {
	v1, v2 := kuraBinary(t, "v0.0.1-deploy"), kuraBinary(t, "v0.0.2-deploy")
	// A password in the URL (the server trusts local connections and
	// ignores it): deploy.sh never prints it.
	const password = "deploy-secret-pw"
	u, _ := url.Parse(testenv.PostgresDatabase(t))
	u.User = url.UserPassword(u.User.Username(), password)
	pg := u.String()
	s := newUnitServer(t, "# the database, with its password\nDATABASE_URL="+pg+"\n")
	dir, changed := decoy(t, v1)
	if out, code := s.deploy(t, dir, 60, v1); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, out)
	}
	roundTrip(t, s.base, true)
	out, code := s.deploy(t, dir, 60, v2)
	if code != 0 || s.version(t) != "v0.0.2-deploy" {
		t.Fatalf("deploy of v0.0.2: exit %d\n%s", code, out)
	}
	if strings.Contains(out, password) {
		t.Errorf("deploy.sh printed the database's password:\n%s", out)
	}
	if !regexp.MustCompile(`database: postgres \S+ database ` + regexp.QuoteMeta(strings.TrimPrefix(u.Path, "/")) + `, identity [0-9a-f]{32}\n`).MatchString(out) {
		t.Errorf("deploy.sh does not name the PostgreSQL database:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(s.root, "var/lib/kura/backups/*.pgdump")); len(m) != 1 {
		t.Errorf("pre-deploy backups of PostgreSQL: %v\n%s", m, out)
	}
	if _, err := os.Stat(filepath.Join(s.root, "var/lib/kura/kura.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unit's SQLite file was made: %v", err)
	}
	if c := changed(); c != "" {
		t.Errorf("deploy.sh acted on the folder it was run from: %s", c)
	}
	roundTrip(t, s.base, false)

	// A build that crashes at start is rolled back, and deploy.sh prints how
	// to restore its pre-deploy backup into the service's database: kura
	// reads the URL where the service gets it (--env-file, --to-env), so the
	// password is on no command line. Run as printed, the commands bring
	// back the backup's rows: a user registered after it is gone.
	broken := filepath.Join(t.TempDir(), "kura-broken")
	if err := os.WriteFile(broken, []byte(fmt.Sprintf(brokenScript, v2)), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(broken), 0o755)
	out, code = s.deploy(t, dir, 60, broken)
	if code != 1 || strings.Contains(out, password) {
		t.Fatalf("deploy of a broken binary: exit %d, want 1 (rolled back) and no password\n%s", code, out)
	}
	post(t, s.base+"/api/users", `{"email":"late@example.com","username":"late","password":"a long passphrase"}`, "", http.StatusCreated)
	hint := restoreHint(t, out)
	if !strings.Contains(hint, "--env-file "+filepath.Join(s.root, "etc/kura/kura.env")) || !strings.Contains(hint, "--to-env DATABASE_URL") {
		t.Fatalf("the restore deploy.sh printed does not read the URL from the service's environment file:\n%s", hint)
	}
	t.Logf("the restore deploy.sh printed:\n%s", hint)
	cmd := exec.Command("bash", "-euc", hint)
	cmd.Env = []string{"PATH=" + s.path}
	if b, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(b), password) {
		t.Fatalf("the restore deploy.sh printed: %v\n%s\n%s", err, hint, b)
	}
	post(t, s.base+"/api/auth/login", `{"login":"late","password":"a long passphrase"}`, "", http.StatusUnauthorized)
	roundTrip(t, s.base, false)
}

// restoreHint returns the commands deploy.sh printed to restore the
// pre-deploy backup, one a line, without its prefix.
func restoreHint(t *testing.T, out string) string {
	t.Helper()
	_, after, ok := strings.Cut(out, "restore the pre-deploy backup into ")
	if !ok {
		t.Fatalf("deploy.sh printed no restore:\n%s", out)
	}
	var lines []string
	for _, line := range strings.Split(after, "\n")[1:] {
		cmd, ok := strings.CutPrefix(line, "deploy.sh:   ")
		if !ok {
			break
		}
		lines = append(lines, cmd)
	}
	return strings.Join(lines, "\n")
}
