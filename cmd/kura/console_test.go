package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/console"
	"github.com/kura-dev/kura/internal/testenv"
)

// consoleAdmin is the admin every console test signs in as.
const (
	consoleAdmin    = "root"
	consolePassword = "correct horse battery 9"
)

// startConsole starts kura serve on dbURL with an admin account, and a
// user "plain" registered through the API, and returns the server.
func startConsole(t *testing.T, dbURL string, env ...string) *server {
	t.Helper()
	base := []string{"DATABASE_URL=" + dbURL}
	if _, logs, err := runKura(t, append(base, "KURA_USER_PASSWORD="+consolePassword), "",
		"users", "create", "--email", "root@example.com", "--username", consoleAdmin, "--admin"); err != nil {
		t.Fatalf("users create: %v\n%s", err, logs)
	}
	s := startKura(t, append(base, env...)...)
	register(t, s, "plain@example.com", "plain")
	return s
}

// browser is an HTTP client of the console with its own cookies, that
// does not follow redirects.
type browser struct {
	t   *testing.T
	s   *server
	jar *cookiejar.Jar
	c   *http.Client
}

func newBrowser(t *testing.T, s *server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, jar: jar, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is one answer of the console.
type page struct {
	status int
	header http.Header
	body   string
}

// send sends a request; form, if not nil, is posted.
func (b *browser) send(method, path string, form url.Values, header ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, res.Header, string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.send("GET", path, nil) }

func (b *browser) post(path string, form url.Values, header ...string) page {
	b.t.Helper()
	return b.send("POST", path, form, header...)
}

// want fails the test unless the answer has the status and contains
// every text.
func (p page) want(t *testing.T, status int, texts ...string) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d: %s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q: %s", s, p.body)
		}
	}
	return p
}

// login signs in through the form and returns the session cookie's
// Set-Cookie line.
func (b *browser) login(login, password string) page {
	b.t.Helper()
	return b.post("/admin/login", url.Values{"login": {login}, "password": {password}, "next": {"/admin/users"}})
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the synchronizer token of a page's forms.
func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("page has no csrf field: %s", p.body)
	}
	return m[1]
}

// TestConsole_Security checks, on each engine, what keeps the console to
// its admins: the login redirect, the 403 of a non-admin, the cookie's
// flags, the headers of every page, CSRF and same-origin checks that
// change nothing when they fail, and the clear answers to stale pages.
func TestConsole_Security(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		s := startConsole(t, dbURL)
		anon := newBrowser(t, s)
		for _, path := range []string{"/admin/", "/admin/users", "/admin/users/1", "/admin/jobs", "/admin/backups", "/admin/audit", "/admin/nope"} {
			p := anon.get(path)
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/login?next=") {
				t.Fatalf("anonymous GET %s: %d Location %q, want 303 to the login", path, p.status, p.header.Get("Location"))
			}
		}
		anon.post("/admin/logout", url.Values{}).want(t, http.StatusSeeOther)

		t.Run("NonAdmin", func(t *testing.T) {
			b := newBrowser(t, s)
			p := b.login("plain", "correct horse battery").want(t, http.StatusForbidden, "not an admin")
			if len(p.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("a non-admin's login set a cookie: %q", p.header.Values("Set-Cookie"))
			}
			// The user's own API token, put in the cookie, opens nothing.
			token := login(t, s, "plain", "correct horse battery")
			u, _ := url.Parse(s.URL + "/admin/")
			b.jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: token, Path: "/admin/"}})
			for _, path := range []string{"/admin/", "/admin/users", "/admin/jobs", "/admin/backups", "/admin/audit"} {
				b.get(path).want(t, http.StatusForbidden, "not an admin")
			}
			b.post("/admin/logout", url.Values{"csrf": {"x"}}).want(t, http.StatusForbidden)
		})

		t.Run("WrongPassword", func(t *testing.T) {
			newBrowser(t, s).login(consoleAdmin, "wrong password").want(t, http.StatusUnauthorized, "Invalid login or password")
		})

		b := newBrowser(t, s)
		p := b.login(consoleAdmin, consolePassword)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/admin/users" {
			t.Fatalf("login: %d to %q, want 303 to /admin/users: %s", p.status, p.header.Get("Location"), p.body)
		}
		wantCookie(t, p.header.Get("Set-Cookie"))

		t.Run("Headers", func(t *testing.T) {
			for _, path := range []string{"/admin/", "/admin/users", "/admin/users/1", "/admin/jobs", "/admin/backups", "/admin/audit", "/admin/login"} {
				p := b.get(path)
				if path == "/admin/login" {
					p.want(t, http.StatusSeeOther) // signed in already
				} else {
					p.want(t, http.StatusOK)
				}
				wantHeaders(t, path, p.header)
			}
			p := b.get("/admin/nope").want(t, http.StatusNotFound, "no such page")
			wantHeaders(t, "/admin/nope", p.header)
			css := b.get("/admin/static/console.css").want(t, http.StatusOK)
			if ct := css.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
				t.Fatalf("console.css: Content-Type %q", ct)
			}
		})

		t.Run("StaleUser", func(t *testing.T) {
			b.get("/admin/users/999999").want(t, http.StatusNotFound, "no such user")
		})

		t.Run("CompletedJob", func(t *testing.T) {
			// plain's welcome notification is a job that completes.
			var id string
			testenv.Wait(t, 30*time.Second, "a completed job", func() bool {
				m := regexp.MustCompile(`/admin/jobs/(\d+)/retry`).FindStringSubmatch(b.get("/admin/jobs?state=completed").body)
				if m != nil {
					id = m[1]
				}
				return m != nil
			})
			token := b.get("/admin/jobs").csrf(t)
			b.post("/admin/jobs/"+id+"/retry", url.Values{"csrf": {token}}).want(t, http.StatusConflict, "has already completed", "Nothing was changed")
			b.get("/admin/jobs?state=completed").want(t, http.StatusOK, "/admin/jobs/"+id+"/retry")
		})

		t.Run("RoleAndAudit", func(t *testing.T) {
			m := regexp.MustCompile(`/admin/users/(\d+)"`).FindStringSubmatch(b.get("/admin/users?by=username&q=plain").body)
			if m == nil {
				t.Fatal("the search for plain found no user page")
			}
			id := m[1]
			token := b.get("/admin/users/"+id).want(t, http.StatusOK, "plain").csrf(t)
			b.post("/admin/users/"+id+"/role", url.Values{"csrf": {token}, "role": {"admin"}}).want(t, http.StatusSeeOther)
			b.post("/admin/users/"+id+"/sessions", url.Values{"csrf": {token}}).want(t, http.StatusSeeOther)
			b.get("/admin/audit").want(t, http.StatusOK, kura.AuditRoleChange, kura.AuditEndSessions, consoleAdmin, `href="/admin/users/`+id+`"`)
			b.post("/admin/users/"+id+"/role", url.Values{"csrf": {token}, "role": {"user"}}).want(t, http.StatusSeeOther)
			// A stale page acting on a deleted user changes nothing and says so.
			b.post("/admin/users/999999/role", url.Values{"csrf": {token}, "role": {"admin"}}).want(t, http.StatusNotFound, "no longer exists")
		})

		t.Run("CSRF", func(t *testing.T) {
			token := b.get("/admin/").csrf(t)
			u, _ := url.Parse(s.URL + "/admin/")
			ended := b.jar.Cookies(u)[0].Value
			for _, form := range []url.Values{{}, {"csrf": {"AAAA" + token[4:]}}, {"csrf": {""}}} {
				b.post("/admin/logout", form).want(t, http.StatusForbidden, "security token")
				b.get("/admin/").want(t, http.StatusOK) // still signed in: nothing changed
			}
			b.post("/admin/logout", url.Values{"csrf": {token}}, "Origin", "http://evil.example").want(t, http.StatusForbidden, "own pages")
			b.post("/admin/logout", url.Values{"csrf": {token}}, "Sec-Fetch-Site", "cross-site").want(t, http.StatusForbidden, "own pages")
			b.get("/admin/").want(t, http.StatusOK)
			// A token is bound to its session: another admin session's
			// token does not do.
			other := newBrowser(t, s)
			other.login(consoleAdmin, consolePassword).want(t, http.StatusSeeOther)
			b.post("/admin/logout", url.Values{"csrf": {other.get("/admin/").csrf(t)}}).want(t, http.StatusForbidden)
			p := b.post("/admin/logout", url.Values{"csrf": {token}}, "Origin", s.URL).want(t, http.StatusSeeOther)
			if c := p.header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
				t.Fatalf("logout's Set-Cookie %q does not clear the cookie", c)
			}
			other.get("/admin/").want(t, http.StatusOK)
			// The ended session opens nothing, even sent again.
			b.jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: ended, Path: "/admin/"}})
			b.get("/admin/").want(t, http.StatusSeeOther)
		})
	})
}

// wantCookie checks the session cookie's flags on loopback.
func wantCookie(t *testing.T, setCookie string) {
	t.Helper()
	for _, want := range []string{console.CookieName + "=", "Path=/admin/", "HttpOnly", "SameSite=Strict", "Expires="} {
		if !strings.Contains(setCookie, want) {
			t.Fatalf("Set-Cookie %q lacks %q", setCookie, want)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Fatalf("Set-Cookie %q is Secure on loopback, where browsers would not send it over http", setCookie)
	}
}

// wantHeaders checks the security headers of a console answer.
func wantHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s %q, want %q", path, k, got, v)
		}
	}
}

// TestConsole_Off checks that KURA_CONSOLE=false serves no console at all.
func TestConsole_Off(t *testing.T) {
	s := startKura(t, "DATABASE_URL=sqlite:"+t.TempDir()+"/kura.db", "KURA_CONSOLE=false")
	b := newBrowser(t, s)
	for _, path := range []string{"/admin/", "/admin/login", "/admin/static/console.css", "/admin/users"} {
		b.get(path).want(t, http.StatusNotFound)
	}
	b.post("/admin/login", url.Values{"login": {"x"}, "password": {"y"}}).want(t, http.StatusNotFound)
}
