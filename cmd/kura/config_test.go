package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeEnvFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig_Defaults(t *testing.T) {
	cfg, err := LoadConfig([]string{}, filepath.Join(t.TempDir(), "missing.env"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.PoolSize != 5 || cfg.MaxOverflow != 10 ||
		cfg.ConnMaxAge.D() != 600*time.Second || cfg.PoolTimeout.D() != 5*time.Second ||
		!cfg.PrePing || !cfg.AutoMigrate || cfg.SessionTTL.D() != 168*time.Hour {
		t.Fatalf("unexpected defaults: %+v", cfg)
	}
	if got := cfg.URL(); got != "" {
		t.Fatalf("URL() = %q, want empty (the SQLite default)", got)
	}
}

func TestLoadConfig_Precedence(t *testing.T) {
	envFile := writeEnvFile(t, "KURA_ADDR=127.0.0.1:9000\nDB_POOL_SIZE=7\nDATABASE_URL=sqlite:from-dotenv.db\n")
	cfg, err := LoadConfig([]string{"DB_POOL_SIZE=9"}, envFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9000" {
		t.Errorf("Addr = %q, want the .env value", cfg.Addr)
	}
	if cfg.PoolSize != 9 {
		t.Errorf("PoolSize = %d, want 9: the environment wins over .env", cfg.PoolSize)
	}
	if cfg.DatabaseURL != "sqlite:from-dotenv.db" {
		t.Errorf("DatabaseURL = %q", cfg.DatabaseURL)
	}
}

func TestLoadConfig_Seconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"600": 600 * time.Second, "1.5": 1500 * time.Millisecond, "10m": 10 * time.Minute, "250ms": 250 * time.Millisecond} {
		cfg, err := LoadConfig([]string{"DB_CONN_MAX_AGE=" + in}, "")
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if cfg.ConnMaxAge.D() != want {
			t.Errorf("DB_CONN_MAX_AGE=%s: got %v, want %v", in, cfg.ConnMaxAge.D(), want)
		}
	}
	for _, bad := range []string{"soon", "-5", "-1s"} {
		if _, err := LoadConfig([]string{"DB_POOL_TIMEOUT=" + bad}, ""); err == nil {
			t.Errorf("DB_POOL_TIMEOUT=%s: want an error", bad)
		}
	}
}

func TestLoadConfig_Invalid(t *testing.T) {
	for _, kv := range []string{"DB_POOL_SIZE=0", "DB_POOL_SIZE=x", "DB_MAX_OVERFLOW=-1", "DB_POOL_TIMEOUT=0", "KURA_LOG_LEVEL=loud", "KURA_LOG_FORMAT=xml", "KURA_SESSION_TTL=1s", "DB_PRE_PING=maybe"} {
		if _, err := LoadConfig([]string{kv}, ""); err == nil {
			t.Errorf("%s: want an error", kv)
		}
	}
}

func TestLoadConfig_MalformedDotEnvDoesNotEcho(t *testing.T) {
	const secret = "s3cr3t-dotenv-value"
	envFile := writeEnvFile(t, "DB_PASSWORD="+secret+"\nthis is not a line'\"\n")
	_, err := LoadConfig(nil, envFile)
	if err == nil {
		t.Fatal("want an error for a malformed .env")
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatal("the error echoes the .env contents")
	}
}

func TestConfig_URLFromParts(t *testing.T) {
	const pw = "p@ss/w:rd?#%"
	cfg, err := LoadConfig([]string{"DB_HOST=db.example.com", "DB_PORT=6543", "DB_NAME=app", "DB_USER=app_user", "DB_PASSWORD=" + pw}, "")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.URL())
	if err != nil {
		t.Fatalf("built URL does not parse: %v", err)
	}
	got, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Host != "db.example.com:6543" || u.Path != "/app" || u.User.Username() != "app_user" || got != pw {
		t.Fatalf("URL parts wrong: scheme=%s host=%s path=%s user=%s password ok=%v", u.Scheme, u.Host, u.Path, u.User.Username(), got == pw)
	}
	if mode := u.Query().Get("sslmode"); mode != "require" {
		t.Errorf("sslmode = %q, want require for a remote host", mode)
	}

	cfg, _ = LoadConfig([]string{"DB_HOST=127.0.0.1"}, "")
	if u, _ := url.Parse(cfg.URL()); u.Query().Get("sslmode") != "disable" {
		t.Errorf("loopback sslmode = %q, want disable", u.Query().Get("sslmode"))
	}
	cfg, _ = LoadConfig([]string{"DB_HOST=db", "DB_SSLMODE=verify-full"}, "")
	if u, _ := url.Parse(cfg.URL()); u.Query().Get("sslmode") != "verify-full" {
		t.Errorf("explicit sslmode lost: %q", u.Query().Get("sslmode"))
	}
	cfg, _ = LoadConfig([]string{"DATABASE_URL=mysql://x@h/db", "DB_HOST=ignored"}, "")
	if cfg.URL() != "mysql://x@h/db" {
		t.Errorf("DATABASE_URL must win over DB_HOST, got %q", cfg.URL())
	}
}

// FuzzParseSeconds: any value either parses to a non-negative duration or
// is rejected with an error; it never panics.
func FuzzParseSeconds(f *testing.F) {
	for _, s := range []string{"600", "1.5", "10m", "-1", "1e400", "NaN", "Inf", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSeconds(s)
		if err == nil && v.(Seconds) < 0 {
			t.Fatalf("parseSeconds(%q) = %v", s, v)
		}
	})
}
