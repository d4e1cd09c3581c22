package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// deployOneScript stands for the deploy command of rolling.sh on one
// instance (deploy.sh on its host): deployOneScript NAME BINARY installs
// BINARY in the instance's folder, stops the kura it runs with SIGTERM
// (waiting for it to exit), starts the new one and waits until it answers
// /health/ready, or fails when it exits first.
const deployOneScript = `#!/usr/bin/env bash
set -euo pipefail
dir=$(dirname "$0")/$1
cp "$2" "$dir/kura.new" && mv -f "$dir/kura.new" "$dir/kura"
if [ -f "$dir/kura.pid" ]; then
  pid=$(cat "$dir/kura.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 600); do
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    if [ -z "$state" ] || [ "$state" = Z ]; then break; fi
    sleep 0.1
  done
fi
nohup "$dir/kura" serve --env-file "$dir/kura.env" >>"$dir/kura.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$dir/kura.pid"
addr=$(sed -n 's/^KURA_ADDR=//p' "$dir/kura.env")
for _ in $(seq 600); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/health/ready")" = 200 ]; then exit 0; fi
  kill -0 "$pid" 2>/dev/null || { echo "$1: kura exited at start" >&2; exit 1; }
  sleep 0.1
done
exit 1
`

// TestRollingUpgrade: rolling.sh upgrades three instances behind the
// shipped haproxy.cfg, one at a time, under the mixed keep-alive load, with
// no failed request; then an upgrade to a binary that crashes at start
// stops at the first instance, which is put back on the previous binary,
// and leaves the others untouched, still with no failed request.
func TestRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("the rolling upgrade takes a minute")
	}
	testenv.Tool(t, "socat", "socat")
	testenv.Tool(t, "curl", "curl")
	dbURL, env := clusterEnv(t)
	v1, v2 := kuraBinary(t, "v0.0.1-rolling"), kuraBinary(t, "v0.0.2-rolling")
	root := t.TempDir()
	deployOne := filepath.Join(root, "deploy-one")
	if err := os.WriteFile(deployOne, []byte(deployOneScript), 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"kura1", "kura2", "kura3"}
	addrs := make([]string, len(names))
	var instances []string
	for i, name := range names {
		addrs[i] = "127.0.0.1:" + freePort(t)
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		content := strings.Join(append(env[1:], "KURA_ADDR="+addrs[i]), "\n") + "\n" // PATH is the script's
		if err := os.WriteFile(filepath.Join(dir, "kura.env"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		runTool(t, root, deployOne, name, v1) // one at a time: the first migrates
		t.Cleanup(func() { stopPidFile(t, filepath.Join(dir, "kura.pid")) })
		instances = append(instances, "--instance", name+"=http://"+addrs[i])
	}
	front := "127.0.0.1:" + freePort(t)
	sock := startHAProxy(t, front, addrs)
	waitHAProxyUp(t, sock, len(names))

	rolling := func(binary string, extra ...string) (string, int) {
		args := append([]string{"rolling.sh", "--socket", sock, "--deploy", deployOne, "--timeout", "30"}, instances...)
		args = append(append(args, extra...), binary)
		cmd := exec.Command("bash", args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return string(out), exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	versions := func() []string {
		var v []string
		for i, name := range names {
			v = append(v, servedVersion(t, "http://"+addrs[i], filepath.Join(root, name, "kura.log")))
		}
		return v
	}

	l := newLoad(t, "http://"+front, 100)
	l.start()
	testenv.Wait(t, time.Minute, "a second of load to be answered", func() bool { return l.answered() >= 100 })

	start := time.Now()
	out, code := rolling(v2, "--previous", v1)
	t.Logf("the rolling upgrade took %s", time.Since(start).Round(time.Millisecond))
	if code != 0 || !strings.Contains(out, "upgraded: all 3 instances run kura v0.0.2-rolling") {
		t.Fatalf("rolling.sh: exit %d\n%s", code, out)
	}
	if got := strings.Join(versions(), " "); got != "v0.0.2-rolling v0.0.2-rolling v0.0.2-rolling" {
		t.Fatalf("after the upgrade the instances run %s\n%s", got, out)
	}

	broken := filepath.Join(t.TempDir(), "kura-broken")
	if err := os.WriteFile(broken, []byte(fmt.Sprintf(brokenScript, v2)), 0o755); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	out, code = rolling(broken, "--previous", v2)
	t.Logf("the failed upgrade and its roll back took %s", time.Since(start).Round(time.Millisecond))
	if code != 1 {
		t.Fatalf("rolling.sh with a broken binary: exit %d, want 1 (rolled back)\n%s", code, out)
	}
	for _, want := range []string{"kura1: the deploy command failed", "stopped at kura1: kura2 kura3 not touched", "rolled back: every instance runs " + v2} {
		if !strings.Contains(out, want) {
			t.Errorf("rolling.sh's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "kura2: draining") {
		t.Errorf("rolling.sh touched kura2 after kura1 failed:\n%s", out)
	}
	waitHAProxyUp(t, sock, len(names))
	if got := strings.Join(versions(), " "); got != "v0.0.2-rolling v0.0.2-rolling v0.0.2-rolling" {
		t.Fatalf("after the roll back the instances run %s\n%s", got, out)
	}

	res := l.stop()
	t.Logf("%d requests in %s: %s; p50 %s, p99 %s, max %s", res.total, res.took.Round(time.Millisecond), res.byKind(),
		res.percentile(50), res.percentile(99), res.percentile(100))
	if res.failed() {
		t.Errorf("failures: %d connection errors, %d 5xx, %d unexpected statuses; first ones:\n%s",
			res.connErrors, res.serverErrors, res.unexpected, strings.Join(res.samples, "\n"))
	}
	if created := countRegistrations(t, dbURL, l.prefix); created != res.registered {
		t.Errorf("%d registrations in the database, %d acknowledged with 201", created, res.registered)
	}

	// Mistakes are refused before anything changes.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--instance", "nope=http://" + addrs[0]}, "haproxy's backend kura has no server nope"},
		{[]string{"--instance", "kura1"}, "want NAME=URL"},
		{[]string{"--instance", "kura1=http://" + addrs[0], "--socket", filepath.Join(root, "none.sock")}, "does not answer"},
	} {
		out, code := rolling(v2, tt.args...)
		if code != 1 || !strings.Contains(out, tt.want) || strings.Contains(out, "draining") {
			t.Errorf("rolling.sh %v: exit %d, want 1 and %q, nothing drained:\n%s", tt.args, code, tt.want, out)
		}
	}
}

// stopPidFile ends the process of a pid file with SIGTERM, then SIGKILL.
func stopPidFile(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || syscall.Kill(pid, syscall.SIGTERM) != nil {
		return
	}
	if testenv.WaitErr(30*time.Second, func() bool { return !alive(pid) }) != nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
