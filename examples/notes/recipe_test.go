package notes_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestBuildingGuide_RecipeRuns keeps the whole recipe of docs/BUILDING.md
// (section 10) true: its blocks that name a file (```go file=main.go) are
// written into an empty module whose kura is this repository, which is
// built, run on SQLite, PostgreSQL and MariaDB, and driven over HTTP as
// the guide's curl lines do.
func TestBuildingGuide_RecipeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	goTool := testenv.Tool(t, "go", "golang")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(filepath.Join(root, "docs", "BUILDING.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := regexp.MustCompile("(?s)```\\w+ file=(\\S+)\n(.*?)```").FindAllStringSubmatch(string(guide), -1)
	if len(files) < 4 {
		t.Fatalf("found %d blocks that name a file in docs/BUILDING.md; want main.go and a migration per engine", len(files))
	}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f[1]))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(f[2]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The guide's go mod init and go get, with kura taken from this tree.
	goMod := "module example.com/bookmarks\n\ngo 1.26\n\nrequire github.com/kura-dev/kura v0.0.0\n\nreplace github.com/kura-dev/kura => " + root + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod")
	for _, args := range [][]string{{"mod", "tidy"}, {"vet", "."}, {"build", "-o", "bookmarks", "."}} {
		cmd := exec.Command(goTool, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the recipe's module: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	bin := filepath.Join(dir, "bookmarks")
	t.Run("sqlite", func(t *testing.T) {
		runRecipe(t, bin, "sqlite:"+filepath.Join(t.TempDir(), "bookmarks.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		runRecipe(t, bin, testenv.PostgresDatabase(t))
	})
	// Its MySQL migration too, which nothing else would run.
	t.Run("mysql", func(t *testing.T) {
		runRecipe(t, bin, testenv.MySQLDatabase(t))
	})
}

// runRecipe starts the recipe's program on url, registers, logs in,
// saves a bookmark twice (the upsert) and lists it, then stops it with
// SIGTERM and expects a clean exit.
func runRecipe(t *testing.T, bin, url string) {
	cmd := exec.Command(bin)
	cmd.Dir = t.TempDir() // its .env and ./data/backups
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "KURA_ADDR=127.0.0.1:0", "KURA_METRICS_ADDR=", "KURA_DRAIN_DELAY=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 1000)
	var output strings.Builder // what the program wrote, shown if the test fails
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
			output.WriteString(sc.Text() + "\n")
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("the program's output:\n%s", output.String())
		}
	}()
	base := ""
	serving := regexp.MustCompile(`msg="bookmarks serving" url=(http://\S+)`)
	deadline := time.After(60 * time.Second)
	for base == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				stopped = true
				t.Fatalf("the recipe's program exited before serving: %v", <-exited)
			}
			if m := serving.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
		case <-deadline:
			t.Fatal("the recipe's program did not serve within 60s")
		}
	}
	call := func(want int, method, path, token string, body any) []byte {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(context.Background(), method, base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s: %d %s; want %d", method, path, res.StatusCode, out, want)
		}
		return out
	}
	call(201, "POST", "/api/users", "", map[string]string{"email": "ann@example.com", "username": "ann", "password": "a long passphrase"})
	var login struct{ Token string }
	json.Unmarshal(call(200, "POST", "/api/auth/login", "", map[string]string{"login": "ann", "password": "a long passphrase"}), &login)
	call(401, "GET", "/api/bookmarks", "", nil)
	call(200, "PUT", "/api/bookmarks", login.Token, map[string]string{"url": "https://go.dev", "title": "Go"})
	call(200, "PUT", "/api/bookmarks", login.Token, map[string]string{"url": "https://go.dev", "title": "The Go language"})
	call(200, "PUT", "/api/bookmarks", login.Token, map[string]string{"url": "https://sqlite.org", "title": "SQLite"})
	call(422, "PUT", "/api/bookmarks", login.Token, map[string]string{"url": ""})
	var list []struct {
		URL, Title string
		SavedAt    time.Time `json:"saved_at"`
	}
	if err := json.Unmarshal(call(200, "GET", "/api/bookmarks", login.Token, nil), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].URL != "https://go.dev" || list[0].Title != "The Go language" || list[1].Title != "SQLite" || list[0].SavedAt.IsZero() {
		t.Fatalf("GET /api/bookmarks: %+v; want go.dev retitled by the second save, and sqlite.org", list)
	}
	call(200, "GET", "/health", "", nil)
	// The saves' jobs ran: each logs a line.
	saved := 0
	for saved < 3 {
		select {
		case l, ok := <-lines:
			if !ok {
				stopped = true
				t.Fatalf("the program exited: %v", <-exited)
			}
			if strings.Contains(l, "msg=\"bookmark saved\"") {
				saved++
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("%d of the 3 saves' jobs ran within 60s", saved)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("the program stopped with %v after SIGTERM; want a clean exit", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop within 30s of SIGTERM")
	}
}
