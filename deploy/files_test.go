package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestDockerfiles_SameFinalStage: the image built from source and the
// one built from a prebuilt binary differ only in where the files come
// from.
func TestDockerfiles_SameFinalStage(t *testing.T) {
	final := func(file string) []string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i := strings.LastIndex(s, "\nFROM scratch\n")
		if i < 0 {
			t.Fatalf("%s has no final stage FROM scratch", file)
		}
		var lines []string
		for _, l := range strings.Split(s[i:], "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "COPY ") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	src, rel := final("Dockerfile"), final("Dockerfile.release")
	if strings.Join(src, "\n") != strings.Join(rel, "\n") {
		t.Fatalf("the final stages differ:\nDockerfile:\n%s\n\nDockerfile.release:\n%s", strings.Join(src, "\n"), strings.Join(rel, "\n"))
	}
	for _, want := range []string{"USER 65532:65532", `VOLUME ["/data"]`, `HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/kura", "healthcheck"]`} {
		if !strings.Contains(strings.Join(src, "\n"), want) {
			t.Errorf("the final stage lacks %s", want)
		}
	}
}

// TestCompose_Config: docker-compose reads the file with the secrets of an
// .env file, which the file itself never holds, and refuses to start
// without them.
func TestCompose_Config(t *testing.T) {
	dc := testenv.Tool(t, "docker-compose", "docker-compose")
	pg, redis := "pg"+testenv.RandomSuffix(), "rd"+testenv.RandomSuffix()
	envFile := filepath.Join(t.TempDir(), "compose.env")
	if err := os.WriteFile(envFile, []byte("POSTGRES_PASSWORD="+pg+"\nREDIS_PASSWORD="+redis+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"-f", "docker-compose.yml", "--env-file", envFile, "--profile", "sqlite", "--profile", "backup"}
	services := strings.Fields(runTool(t, ".", dc, append(base, "config", "--services")...))
	for _, want := range []string{"kura", "postgres", "redis", "kura-sqlite", "backup"} {
		if !strings.Contains(" "+strings.Join(services, " ")+" ", " "+want+" ") {
			t.Errorf("docker-compose config --services lacks %s: %v", want, services)
		}
	}
	cfg := runTool(t, ".", dc, append(base, "config")...)
	for _, want := range []string{
		"DB_PASSWORD: " + pg, "redis://:" + redis + "@redis:6379/0", // the secrets reach kura from .env
		"condition: service_healthy", "pg_isready", "redis-cli ping", "restart: unless-stopped",
		"pgdata:", "backups:", "kura-data:", "stop_grace_period: 30s",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("docker-compose config lacks %q", want)
		}
	}
	file, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	// Every password is interpolated from the environment, never written.
	for _, line := range regexp.MustCompile(`(?m)^.*(PASSWORD|AUTH|redis://).*$`).FindAllString(string(file), -1) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.Contains(line, ":") && !strings.Contains(line, "${") && !strings.Contains(line, "$$REDIS_PASSWORD") {
			t.Errorf("docker-compose.yml writes a secret instead of reading it from .env: %s", line)
		}
	}
	// Without the .env file's secrets, docker-compose refuses, naming them.
	empty := filepath.Join(t.TempDir(), "empty.env")
	os.WriteFile(empty, nil, 0o600)
	cmd := exec.Command(dc, "-f", "docker-compose.yml", "--env-file", empty, "config")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "set POSTGRES_PASSWORD in deploy/.env") {
		t.Errorf("docker-compose config without secrets: want a failure naming POSTGRES_PASSWORD, got %v:\n%s", err, out)
	}
}

// TestSystemd_Verify: systemd-analyze verify finds nothing to say about
// the units. It checks that ExecStart's program exists, so the units are
// verified with their /opt/kura/bin/kura replaced by a built kura.
func TestSystemd_Verify(t *testing.T) {
	sa := testenv.Tool(t, "systemd-analyze", "systemd")
	bin := kuraBinary(t, "v0.0.0-systemd")
	dir := t.TempDir()
	var units []string
	for _, name := range []string{"kura.service"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "kura.service" {
			for _, want := range []string{"Type=notify", "DynamicUser=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/kura",
				"NoNewPrivileges=yes", "PrivateTmp=yes", "EnvironmentFile=/etc/kura/kura.env", "Restart=on-failure"} {
				if !strings.Contains(string(b), "\n"+want+"\n") {
					t.Errorf("kura.service lacks %s", want)
				}
			}
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), "/opt/kura/bin/kura", bin)), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
	}
	cmd := exec.Command(sa, append([]string{"verify"}, units...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestShellcheck: deploy.sh and rolling.sh are shellcheck-clean.
func TestShellcheck(t *testing.T) {
	runTool(t, ".", testenv.Tool(t, "shellcheck", "shellcheck"), "deploy.sh", "rolling.sh")
}

// TestMakefile: kura version prints what make build set with -ldflags,
// and make release builds both platforms with their checksums (read, as
// make -n prints it, not run: two full builds are too slow for CI).
func TestMakefile(t *testing.T) {
	out, err := exec.Command(kuraBinary(t, "v0.0.0-make"), "version").CombinedOutput()
	if err != nil || !regexp.MustCompile(`^kura v0\.0\.0-make \(commit test, built \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, go`).Match(out) {
		t.Fatalf("kura version: %q %v", out, err)
	}
	plan := runTool(t, "..", testenv.Tool(t, "make", "make"), "-n", "release", "VERSION=v9.9.9", "DIST="+t.TempDir())
	for _, want := range []string{"CGO_ENABLED=0 GOOS=linux GOARCH=amd64", "CGO_ENABLED=0 GOOS=linux GOARCH=arm64",
		"-X github.com/kura-dev/kura.Version=v9.9.9", "-X github.com/kura-dev/kura.BuildDate=", "sha256sum kura-v9.9.9-* > SHA256SUMS"} {
		if !strings.Contains(plan, want) {
			t.Errorf("make -n release lacks %q:\n%s", want, plan)
		}
	}
}

// TestBalancerConfigs_Check: haproxy -c and nginx -t accept the shipped
// configurations as they are (nginx with a temporary prefix and pid file),
// and their timings fit kura's: haproxy takes a draining server out
// (inter, then fastinter for each further failure) and nginx drops its
// idle connections well within KURA_DRAIN_DELAY's default, which serve's
// help shows.
func TestBalancerConfigs_Check(t *testing.T) {
	haproxy := testenv.Tool(t, "haproxy", "haproxy")
	nginx := testenv.Tool(t, "nginx", "nginx")
	runTool(t, ".", haproxy, "-c", "-q", "-f", "haproxy.cfg")
	abs, err := filepath.Abs("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runTool(t, ".", nginx, "-q", "-t", "-p", dir, "-c", abs, "-g", "pid "+filepath.Join(dir, "nginx.pid")+";")

	help := runTool(t, ".", kuraBinary(t, "v0.0.0-files"), "serve", "-h")
	m := regexp.MustCompile(`KURA_DRAIN_DELAY\s+(\d+)\s`).FindStringSubmatch(help)
	if m == nil {
		t.Fatalf("serve -h shows no default of KURA_DRAIN_DELAY:\n%s", help)
	}
	drain, _ := time.ParseDuration(m[1] + "s")
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	hm := regexp.MustCompile(`default-server inter (\d+)s fastinter (\d+)ms .*fall (\d+) `).FindStringSubmatch(string(cfg))
	if hm == nil {
		t.Fatal("haproxy.cfg: no default-server line with inter, fastinter and fall")
	}
	inter, _ := time.ParseDuration(hm[1] + "s")
	fast, _ := time.ParseDuration(hm[2] + "ms")
	fall, _ := strconv.Atoi(hm[3])
	if out := inter + time.Duration(fall-1)*fast + time.Second; out > drain {
		t.Errorf("haproxy takes up to %s (and a check's time) to take a draining server out; KURA_DRAIN_DELAY's default is %s", out-time.Second, drain)
	}
	ng, err := os.ReadFile("nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	km := regexp.MustCompile(`upstream kura \{[^}]*keepalive_timeout (\d+)s;`).FindStringSubmatch(string(ng))
	if km == nil {
		t.Fatal("nginx.conf: no keepalive_timeout in upstream kura")
	}
	if idle, _ := time.ParseDuration(km[1] + "s"); idle >= drain {
		t.Errorf("nginx keeps idle connections to kura %s, not below KURA_DRAIN_DELAY's default %s", idle, drain)
	}
}
