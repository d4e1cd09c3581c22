package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/internal/testenv"
)

// AxeVersion is the axe-core that .ci/run installs into axeDir, which the
// browser test injects into every page.
const AxeVersion = "4.10.3"

// axeDir is where .ci/run installs the npm packages the tests use.
func axeDir() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kura-npm")
}

// axeSource returns axe-core's script, or skips the test (fails it under
// CI=true) when it is not installed at AxeVersion.
func axeSource(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(axeDir(), "node_modules", "axe-core")
	pkg, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	src, err := os.ReadFile(filepath.Join(dir, "axe.min.js"))
	if err != nil || !strings.Contains(string(pkg), `"version": "`+AxeVersion+`"`) {
		msg := "axe-core " + AxeVersion + " is not installed; install it with: npm install --prefix " + axeDir() + " axe-core@" + AxeVersion
		if testenv.CI() {
			t.Fatal(msg + " (CI=true: tests must not skip)")
		}
		t.Skip(msg)
	}
	return string(src)
}

// failingNotifier fails every delivery, so that the welcome job of each
// registration fails and waits to be retried.
type failingNotifier struct{}

func (failingNotifier) Notify(context.Context, *kura.Notification) error {
	return errors.New("the mail server refused the message (test)")
}

// screenshots is where the console's screenshots go when
// KURA_CONSOLE_SCREENSHOTS=1 asks the browser test to make them anew.
var screenshots = filepath.Join("..", "..", "docs", "console")

// tab is a browser tab on the console, with what its pages reported.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string

	mu       sync.Mutex
	problems []string // console errors and warnings, exceptions, failed loads
}

// newTab starts headless Chromium, listening to its console, exceptions
// and log.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	chromium := testenv.Tool(t, "chromium", "chromium")
	axe := axeSource(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	tb := &tab{t: t, ctx: ctx, base: base, axe: axe}
	if err := chromedp.Listen(ctx, tb.listen); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, struct{}{}); err != nil {
		t.Fatalf("chromium: Log.enable: %v", err)
	}
	return tb
}

// listen records what a page reports that a user would call broken.
func (tb *tab) listen(ev any) {
	var p string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			p += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			p = fmt.Sprintf("console.%s: %d arguments", e.Type, len(e.Args))
			for _, a := range e.Args {
				p += " " + a.Description + string(a.Value)
			}
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			p = fmt.Sprintf("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
		}
	}
	if p != "" {
		tb.mu.Lock()
		tb.problems = append(tb.problems, p)
		tb.mu.Unlock()
	}
}

// do runs actions, failing the test on an error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// navigate runs actions that load another page (a click on a link or a
// button, Enter in a form) and waits until that page has loaded.
func (tb *tab) navigate(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	eval[bool](tb, "window.kuraLeft = true")
	tb.do(what, actions...)
	testenv.Wait(tb.t, time.Minute, what+": the next page", func() bool {
		// While the page changes, its context may be gone: not loaded yet.
		loaded, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && !window.kuraLeft`))
		return err == nil && loaded
	})
}

// eval evaluates a JavaScript expression into T.
func eval[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// text returns the text of the first element sel selects.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return eval[string](tb, `(document.querySelector(`+jsString(sel)+`) || {innerText: ""}).innerText`)
}

// rows counts the rows of the page's last table body.
func (tb *tab) rows() int {
	tb.t.Helper()
	return eval[int](tb, `(() => { const b = document.querySelectorAll("tbody"); return b.length ? b[b.length-1].rows.length : 0 })()`)
}

// lastTable returns the text of the page's last table body.
func (tb *tab) lastTable() string {
	tb.t.Helper()
	return eval[string](tb, `(() => { const b = document.querySelectorAll("tbody"); return b.length ? b[b.length-1].innerText : "" })()`)
}

func jsString(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

// wantHeading waits for the page whose h1 is h1.
func (tb *tab) wantHeading(h1 string) {
	tb.t.Helper()
	tb.do("wait for "+h1, chromedp.WaitVisible("h1"))
	if got := tb.text("h1"); got != h1 {
		tb.t.Fatalf("page %q, want %q: %s", got, h1, tb.text("main"))
	}
}

// axeViolation is one of axe-core's findings.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// check runs axe-core on the page, failing on serious and critical
// violations, and saves a screenshot as name when asked to.
func (tb *tab) check(name string) {
	tb.t.Helper()
	eval[bool](tb, tb.axe+";true")
	vs := eval[[]axeViolation](tb, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v =>
		({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`, chromedp.EvalAwaitPromise)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Errorf("%s: accessibility: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			tb.t.Logf("%s: accessibility, %s: %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
	if os.Getenv("KURA_CONSOLE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(screenshots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// focused returns the id of the element that has the keyboard focus.
func (tb *tab) focused() string {
	return eval[string](tb, `document.activeElement ? document.activeElement.id : ""`)
}

// tabTo presses Tab until the element with the id has the focus.
func (tb *tab) tabTo(id string) {
	tb.t.Helper()
	for i := 0; i < 10 && tb.focused() != id; i++ {
		tb.do("Tab", chromedp.KeyEvent(kb.Tab))
	}
	if got := tb.focused(); got != id {
		tb.t.Fatalf("Tab never reached #%s (focus on %q)", id, got)
	}
}

// TestConsole_Browser drives the console in headless Chromium as an
// operator would, with the keyboard where a form allows it: sign in, the
// overview, pages of users, a search, a user's page, the audit log, a
// failed job retried, a backup taken and verified, the maintenance report.
// Every page passes axe-core with no serious or critical violation, and
// no page reports an error or warning to its console.
func TestConsole_Browser(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "kura.db")
	if _, logs, err := runKura(t, []string{"DATABASE_URL=" + dbURL}, "", "users", "seed", "--count", "120"); err != nil {
		t.Fatalf("users seed: %v\n%s", err, logs)
	}
	logs := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs,
		Environ:  []string{noMetricsListener, noBackups, "KURA_BACKUP_DIR=" + t.TempDir()},
		Notifier: func(kura.Notifier) kura.Notifier { return failingNotifier{} }}
	s := &server{URL: "", logs: logs}
	if _, logs, err := runKura(t, []string{"DATABASE_URL=" + dbURL, "KURA_USER_PASSWORD=" + consolePassword}, "",
		"users", "create", "--email", "root@example.com", "--username", consoleAdmin, "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	m.Environ = append(m.Environ, "DATABASE_URL="+dbURL)
	s.URL = startServe(t, m)
	s.client = openapitest.Client(t)
	register(t, s, "plain@example.com", "plain") // its welcome job fails

	tb := newTab(t, s.URL)
	t.Run("KeyboardLogin", func(t *testing.T) {
		tb.do("open the console", chromedp.Navigate(s.URL+"/admin/"))
		tb.wantHeading("Sign in")
		tb.check("login")
		tb.tabTo("login")
		tb.do("type the login", chromedp.KeyEvent(consoleAdmin), chromedp.KeyEvent(kb.Tab))
		if got := tb.focused(); got != "password" {
			t.Fatalf("Tab from the login went to %q, want the password", got)
		}
		tb.navigate("type the password and Enter", chromedp.KeyEvent(consolePassword), chromedp.KeyEvent(kb.Enter))
		tb.wantHeading("Overview")
		if got := tb.text("main"); !strings.Contains(got, "database") || !strings.Contains(got, "Requests") {
			t.Fatalf("overview lacks the database's health or the requests: %s", got)
		}
		tb.check("overview")
	})

	t.Run("Users", func(t *testing.T) {
		tb.navigate("users", chromedp.Click(`nav a[href="/admin/users"]`))
		tb.wantHeading("Users")
		seen := 0
		for page := 1; ; page++ {
			seen += tb.rows()
			if page == 1 {
				tb.check("users")
			}
			if eval[int](tb, `document.querySelectorAll('a[rel="next"]').length`) == 0 {
				break
			}
			tb.navigate("next page", chromedp.Click(`a[rel="next"]`))
		}
		if seen != 122 { // 120 seeded, root and plain
			t.Fatalf("paged through %d users, want 122", seen)
		}
		tb.navigate("search", chromedp.SendKeys("#q", "PLAIN"), chromedp.SendKeys("#q", kb.Enter))
		if n, txt := tb.rows(), tb.text("tbody"); n != 1 || !strings.Contains(txt, "plain@example.com") {
			t.Fatalf("search PLAIN: %d rows: %s", n, txt)
		}
		tb.check("users-search")
		tb.navigate("open plain", chromedp.Click(`tbody a`))
		tb.wantHeading("User")
		tb.check("user")
		tb.do("choose admin", chromedp.SetValue("#role", "admin"))
		tb.navigate("change the role", chromedp.Click(`form[action$="/role"] button`))
		tb.wantHeading("User")
		if txt := tb.text("dl"); !strings.Contains(txt, "admin") {
			t.Fatalf("after the role change the user page says: %s", txt)
		}
		tb.navigate("audit", chromedp.Click(`nav a[href="/admin/audit"]`))
		tb.wantHeading("Audit log")
		if txt := tb.text("tbody"); !strings.Contains(txt, kura.AuditRoleChange) || !strings.Contains(txt, consoleAdmin) {
			t.Fatalf("the audit log does not show the role change: %s", txt)
		}
		tb.check("audit")
	})

	t.Run("RetryFailedJob", func(t *testing.T) {
		tb.navigate("jobs", chromedp.Click(`nav a[href="/admin/jobs"]`))
		tb.wantHeading("Jobs")
		testenv.Wait(t, time.Minute, "the failed welcome job on the jobs page", func() bool {
			tb.navigate("reload", chromedp.Reload())
			return strings.Contains(tb.lastTable(), "the mail server refused")
		})
		tb.check("jobs")
		tb.navigate("retry", chromedp.Click(`button[aria-label^="Retry job"]`))
		tb.wantHeading("Jobs")
		if got := tb.text(".done"); got != "The job will run again." {
			t.Fatalf("after retry: %q: %s", got, tb.text("main"))
		}
	})

	t.Run("Backups", func(t *testing.T) {
		tb.navigate("backups", chromedp.Click(`nav a[href="/admin/backups"]`))
		tb.wantHeading("Backups")
		tb.navigate("take", chromedp.Click(`form[action="/admin/backups"] button`))
		tb.wantHeading("Backups")
		if got := tb.text(".done"); got != "The backup was taken." {
			t.Fatalf("after take: %q: %s", got, tb.text("main"))
		}
		if n := tb.rows(); n != 1 {
			t.Fatalf("%d backups listed, want 1", n)
		}
		tb.navigate("verify", chromedp.Click(`button[aria-label^="Verify"]`))
		tb.wantHeading("Backups")
		if got := tb.text(".done"); !strings.Contains(got, "verified") {
			t.Fatalf("after verify: %q: %s", got, tb.text("main"))
		}
		if got := tb.text("tbody"); !strings.Contains(got, "yes") {
			t.Fatalf("the backup is not shown verified: %s", got)
		}
		tb.navigate("report", chromedp.Click(`a[href="/admin/backups?report=1"]`))
		tb.check("backups")
	})

	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		t.Errorf("the browser reported: %s", p)
	}
}
