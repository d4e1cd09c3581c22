package deploy_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// dockerTool returns the docker command, failing or skipping as
// testenv.Tool does when it, or the engine behind it, is missing.
func dockerTool(t *testing.T) string {
	t.Helper()
	d := testenv.Tool(t, "docker", "docker.io")
	if out, err := exec.Command(d, "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		msg := "the Docker engine does not answer (start it: dockerd &): " + strings.TrimSpace(string(out))
		if testenv.CI() {
			t.Fatal(msg + " (CI=true: tests must not skip)")
		}
		t.Skip(msg)
	}
	return d
}

// buildImage builds kura's image from deploy/Dockerfile.release and a
// freshly built binary, as make image does, and removes it at the end.
func buildImage(t *testing.T, docker, version string) string {
	t.Helper()
	ctx := t.TempDir()
	rootfs := filepath.Join(ctx, "rootfs")
	// The layout of make image-context, modes included: /data is 0700.
	for d, mode := range map[string]os.FileMode{"etc/ssl/certs": 0o755, "data": 0o700, "data/backups": 0o700} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(rootfs, d), mode)
	}
	if err := os.Mkdir(filepath.Join(rootfs, "tmp"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777)
	copyFile(t, kuraBinary(t, version), filepath.Join(rootfs, "kura"), 0o755)
	copyFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt"), 0o644)
	tag := "kura-test:" + testenv.RandomSuffix()
	start := time.Now()
	runTool(t, ".", docker, "build", "-q", "-f", "Dockerfile.release", "-t", tag,
		"--build-arg", "VERSION="+version, "--build-arg", "COMMIT=test", "--build-arg", "BUILD_DATE="+time.Now().UTC().Format(time.RFC3339), ctx)
	t.Logf("docker build from the prebuilt binary: %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { exec.Command(docker, "rmi", "-f", tag).Run() })
	return tag
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// imageInfo is what the test reads of docker image inspect.
type imageInfo struct {
	Size   int64
	Config struct {
		User        string
		Env         []string
		Volumes     map[string]struct{}
		Labels      map[string]string
		Entrypoint  []string
		Healthcheck struct{ Test []string }
	}
}

// TestImage builds the image, checks what it is made of, and runs it
// with --network host (never a bridge) on SQLite in a volume and on the
// host's PostgreSQL: /health, a register and login round trip, Docker's
// own health check through kura healthcheck, and a clean stop on SIGTERM
// within the shutdown deadline.
func TestImage(t *testing.T) {
	docker := dockerTool(t)
	const version = "v0.0.0-image"
	tag := buildImage(t, docker, version)

	var infos []imageInfo
	if err := json.Unmarshal([]byte(runTool(t, ".", docker, "image", "inspect", tag)), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("docker image inspect: %v", err)
	}
	img := infos[0]
	t.Logf("image size: %.1f MB", float64(img.Size)/1e6)
	// The templates of the console and of mail make the linker keep every
	// exported method of the types they can reach (text/template calls
	// methods by name), rueidis's command builders most of all: the binary
	// went from 26 to 40 MB with them.
	if img.Size > 48e6 {
		t.Errorf("the image is %d bytes; a static binary on scratch should be well under 48 MB", img.Size)
	}
	if img.Config.User != "65532:65532" {
		t.Errorf("the image runs as %q, want the non-root 65532:65532", img.Config.User)
	}
	if _, ok := img.Config.Volumes["/data"]; !ok {
		t.Errorf("no /data volume: %v", img.Config.Volumes)
	}
	if got := strings.Join(img.Config.Healthcheck.Test, " "); got != "CMD /kura healthcheck" {
		t.Errorf("health check %q, want CMD /kura healthcheck", got)
	}
	if img.Config.Labels["org.opencontainers.image.version"] != version || img.Config.Labels["org.opencontainers.image.source"] == "" {
		t.Errorf("OCI labels: %v", img.Config.Labels)
	}

	t.Run("sqlite", func(t *testing.T) {
		vol := "kura-test-" + testenv.RandomSuffix()
		t.Cleanup(func() { exec.Command(docker, "volume", "rm", "-f", vol).Run() })
		c := runContainer(t, docker, tag, nil, "-v", vol+":/data")
		roundTrip(t, c.base, true)
		c.waitHealthy(t)
		// A backup, online, into the volume, as the image's user.
		var b struct{ Name, Path string }
		json.Unmarshal([]byte(runStdout(t, docker, "exec", c.name, "/kura", "backup", "create", "--json")), &b)
		if !strings.HasPrefix(b.Path, "/data/backups/") {
			t.Errorf("backup create in the container: %+v, want a file under /data/backups", b)
		}
		// Its verify restores into a temporary file: the image has a /tmp.
		runStdout(t, docker, "exec", c.name, "/kura", "backup", "verify", b.Name)
		// The image passes its own doctor: nothing fails, /data included.
		for _, r := range doctor(t, docker, c.name) {
			if r.Status == "fail" {
				t.Errorf("kura doctor in the container: %+v", r)
			}
			if r.Check == "sqlite-file" && (r.Status != "ok" || !strings.Contains(r.Message, "its folder 0700")) {
				t.Errorf("kura doctor on /data: %+v", r)
			}
		}
		c.stop(t)
		// The data outlives the container: a new one on the volume knows ann.
		c = runContainer(t, docker, tag, nil, "-v", vol+":/data")
		roundTrip(t, c.base, false)
		c.stop(t)
	})
	t.Run("open-folder", func(t *testing.T) {
		// A folder of the host, mounted as /data with the mode a plain
		// mkdir gives: doctor's fix is a command the image can run (it has
		// no shell, so no chmod), and that command fixes it.
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(data, 0o755)
		if err := os.Chown(data, 65532, 65532); err != nil {
			t.Skipf("chown to the image's user needs root: %v", err)
		}
		c := runContainer(t, docker, tag, nil, "-v", data+":/data")
		var found bool
		for _, r := range doctor(t, docker, c.name) {
			if r.Check == "sqlite-file" {
				found = true
				if r.Status != "fail" || !strings.HasPrefix(r.Fix, "kura doctor --fix") || strings.Contains(r.Fix, "chmod 7") {
					t.Errorf("kura doctor on a /data of mode 0755: %+v, want a failure whose fix is kura doctor --fix", r)
				}
			}
		}
		if !found {
			t.Fatal("no sqlite-file check")
		}
		exec.Command(docker, "exec", c.name, "/kura", "doctor", "--fix").Run() // exit 0 or 1: warnings remain
		for _, r := range doctor(t, docker, c.name) {
			if r.Check == "sqlite-file" && r.Status != "ok" {
				t.Errorf("after kura doctor --fix: %+v", r)
			}
		}
		if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("the host's folder after kura doctor --fix: %v %v, want 0750", fi.Mode(), err)
		}
		c.stop(t)
	})
	t.Run("postgres", func(t *testing.T) {
		c := runContainer(t, docker, tag, []string{"DATABASE_URL=" + testenv.PostgresDatabase(t)})
		roundTrip(t, c.base, true)
		c.waitHealthy(t)
		c.stop(t)
	})
}

// doctorResult is one line of kura doctor --json.
type doctorResult struct{ Check, Status, Message, Fix string }

// doctor runs kura doctor --json in the container (its exit status says
// whether a check failed; the results say which).
func doctor(t *testing.T, docker, name string) []doctorResult {
	t.Helper()
	out, _ := exec.Command(docker, "exec", name, "/kura", "doctor", "--json").Output()
	var results []doctorResult
	if err := json.Unmarshal(out, &results); err != nil || len(results) == 0 {
		t.Fatalf("kura doctor --json in the container: %v\n%s", err, out)
	}
	return results
}

// container is a running kura container.
type container struct {
	docker, name, base string
}

// runContainer runs the image with --network host, kura on a free port of
// 127.0.0.1, env passed through a file (never on a command line), and
// waits until /health answers 200.
func runContainer(t *testing.T, docker, tag string, env []string, args ...string) *container {
	t.Helper()
	port := freePort(t)
	envFile := filepath.Join(t.TempDir(), "kura.env")
	env = append([]string{"KURA_ADDR=127.0.0.1:" + port, "KURA_METRICS_ADDR=", "KURA_LOG_FLUSH_INTERVAL=0"}, env...)
	if err := os.WriteFile(envFile, []byte(strings.Join(env, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &container{docker: docker, name: "kura-test-" + testenv.RandomSuffix(), base: "http://127.0.0.1:" + port}
	start := time.Now()
	runTool(t, ".", docker, append(append([]string{"run", "-d", "--network", "host", "--name", c.name,
		"--env-file", envFile, "--health-interval", "1s", "--health-start-period", "30s"}, args...), tag)...)
	t.Cleanup(func() {
		if out, err := exec.Command(docker, "logs", c.name).CombinedOutput(); t.Failed() && err == nil {
			t.Logf("container logs:\n%s", out)
		}
		exec.Command(docker, "rm", "-f", "-v", c.name).Run()
	})
	testenv.Wait(t, time.Minute, "the container's /health to answer 200", func() bool {
		res, err := http.Get(c.base + "/health")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	t.Logf("from docker run to a healthy /health: %s", time.Since(start).Round(time.Millisecond))
	return c
}

// waitHealthy waits for Docker's own health check (kura healthcheck in
// the container) to say healthy.
func (c *container) waitHealthy(t *testing.T) {
	t.Helper()
	testenv.Wait(t, time.Minute, "Docker's health check to report healthy", func() bool {
		out, _ := exec.Command(c.docker, "inspect", "-f", "{{.State.Health.Status}}", c.name).Output()
		return strings.TrimSpace(string(out)) == "healthy"
	})
}

// stop sends SIGTERM and checks that kura exits 0, having shut down, well
// within KURA_SHUTDOWN_TIMEOUT (15 s).
func (c *container) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	runTool(t, ".", c.docker, "kill", "--signal", "TERM", c.name)
	code := strings.TrimSpace(runTool(t, ".", c.docker, "wait", c.name))
	took := time.Since(start)
	t.Logf("SIGTERM to exit: %s", took.Round(time.Millisecond))
	if code != "0" {
		t.Errorf("exit status %s after SIGTERM, want 0", code)
	}
	if took > 15*time.Second {
		t.Errorf("took %s to stop, beyond KURA_SHUTDOWN_TIMEOUT", took)
	}
	logs, _ := exec.Command(c.docker, "logs", c.name).CombinedOutput()
	if !bytes.Contains(logs, []byte(`"msg":"stopped"`)) {
		t.Errorf("no stopped line in the logs:\n%s", logs)
	}
	exec.Command(c.docker, "rm", "-f", "-v", c.name).Run()
}

// roundTrip registers ann (when register is set), logs her in and reads
// her own account with the token.
func roundTrip(t *testing.T, base string, register bool) {
	t.Helper()
	if register {
		post(t, base+"/api/users", `{"email":"ann@example.com","username":"ann","password":"a long passphrase"}`, "", http.StatusCreated)
	}
	var login struct{ Token string }
	json.Unmarshal(post(t, base+"/api/auth/login", `{"login":"ann","password":"a long passphrase"}`, "", http.StatusOK), &login)
	if login.Token == "" {
		t.Fatal("login gave no token")
	}
	var me struct{ Username string }
	json.Unmarshal(post(t, base+"/api/users/me", "", login.Token, http.StatusOK), &me)
	if me.Username != "ann" {
		t.Fatalf("GET /api/users/me: username %q, want ann", me.Username)
	}
}

// post sends body (GET when empty) and fails unless the status is want.
func post(t *testing.T, url, body, token string, want int) []byte {
	t.Helper()
	method, rd := http.MethodGet, io.Reader(nil)
	if body != "" {
		method, rd = http.MethodPost, strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, res.StatusCode, want, b)
	}
	return b
}

// freePort returns a port of 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
