package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// idemInstance is one server on a database shared with others, as an
// instance behind a balancer; its app route /api/echo counts its runs and
// answers what fail says for a run.
type idemInstance struct {
	srv  *httpapi.Server
	db   *sqldb.DB
	logs *syncBuffer
}

// idemApp is what the app routes of every instance of a test share.
type idemApp struct {
	runs    atomic.Int64
	fail    func(run int64) error // nil: succeed
	block   chan struct{}         // non-nil: a run waits for it to close
	entered chan struct{}         // receives once per run that blocks
}

// newIdemInstance opens url (migrated already) and returns a server on it.
func newIdemInstance(t testing.TB, url string, app *idemApp, edit ...func(*httpapi.Config)) *idemInstance {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: url, Logger: dbtest.Logger(t, slog.LevelError)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	inst := &idemInstance{db: db, logs: &syncBuffer{}}
	cfg := httpapi.Config{
		Addr:        "127.0.0.1:0",
		Users:       accounts.NewUserService(db),
		Sessions:    accounts.NewSessionService(db, 0),
		Idempotency: store.NewIdempotencyStore(db),
		Logger:      slog.New(slog.NewJSONHandler(inst.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range edit {
		f(&cfg)
	}
	srv := httpapi.NewServer(cfg)
	inst.srv = srv
	srv.Handle("POST /api/echo", func(w http.ResponseWriter, r *http.Request) error {
		run := app.runs.Add(1)
		if app.block != nil {
			app.entered <- struct{}{}
			<-app.block
		}
		if app.fail != nil {
			if err := app.fail(run); err != nil {
				return err
			}
		}
		var body map[string]any
		if err := srv.ReadJSON(w, r, &body); err != nil {
			return err
		}
		body["run"] = run
		w.Header().Set("Location", "/api/echo/1")
		srv.WriteJSON(w, r, http.StatusOK, body)
		return nil
	})
	return inst
}

// forEachEngineURL runs fn as a parallel subtest per engine with the URL
// of a fresh migrated database, for tests that open it more than once.
func forEachEngineURL(t *testing.T, fn func(t *testing.T, url string)) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, migratedURL(t, d))
		})
	}
}

// migratedURL returns the URL of a fresh database of d with kura's tables.
func migratedURL(t testing.TB, d sqldb.Dialect) string {
	t.Helper()
	url := dbtest.URL(t, d)
	db, err := sqldb.Open(context.Background(), sqldb.Config{URL: url, Logger: dbtest.Logger(t, slog.LevelError)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(context.Background(), dbtest.Schemas...); err != nil {
		t.Fatal(err)
	}
	return url
}

// keyed sends a request with an Idempotency-Key (none when key is "")
// through in's handler.
func (in *idemInstance) keyed(method, path, key, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(httpapi.IdempotencyKeyHeader, key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	in.srv.Handler().ServeHTTP(w, req)
	return w
}

func countUsers(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func replayed(w *httptest.ResponseRecorder) bool {
	return w.Header().Get(httpapi.IdempotentReplayedHeader) == "true"
}

const annBody = `{"email":"ann@example.com","username":"ann","password":"correct horse"}`

// TestIdempotency_ConcurrentDuplicates: N registrations with the same key
// and body at once, half of them to a second instance on the same
// database, create one user, and every answer is the first's.
func TestIdempotency_ConcurrentDuplicates(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, url string) {
		app := &idemApp{}
		a, b := newIdemInstance(t, url, app), newIdemInstance(t, url, app)
		const n = 10
		answers := make([]*httptest.ResponseRecorder, n)
		var wg sync.WaitGroup
		for i := range n {
			in := a
			if i%2 == 1 {
				in = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = in.keyed("POST", "/api/users", "reg-7f3a", "", annBody)
			}()
		}
		wg.Wait()
		first := 0
		for i, w := range answers {
			if w.Code != http.StatusCreated || w.Body.String() != answers[0].Body.String() ||
				w.Header().Get("Location") != answers[0].Header().Get("Location") || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("answer %d: %d %v %s; want answer 0's: %d %s", i, w.Code, w.Header(), w.Body, answers[0].Code, answers[0].Body)
			}
			if !replayed(w) {
				first++
			}
		}
		if first != 1 {
			t.Errorf("%d answers were not replays; want exactly 1", first)
		}
		if got := countUsers(t, a.db); got != 1 {
			t.Fatalf("%d users after %d duplicate registrations; want 1", got, n)
		}

		// A restart: a third instance on the same database answers the stored response.
		c := newIdemInstance(t, url, app)
		w := c.keyed("POST", "/api/users", "reg-7f3a", "", annBody)
		if w.Code != http.StatusCreated || w.Body.String() != answers[0].Body.String() || !replayed(w) {
			t.Fatalf("after a restart: %d %s (replayed %v); want the stored 201", w.Code, w.Body, replayed(w))
		}
	})
}

// TestIdempotency_Refusals: a key reused with another body or path is 422
// idempotency_key_reused; a key too long, not printable ASCII, or sent
// twice is 400; none of them writes anything.
func TestIdempotency_Refusals(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, url string) {
		in := newIdemInstance(t, url, &idemApp{})
		db := in.db
		mustStatus(t, in.keyed("POST", "/api/users", "k1", "", annBody), http.StatusCreated)

		other := strings.Replace(annBody, "ann", "bob", 2)
		e := mustError(t, in.keyed("POST", "/api/users", "k1", "", other), http.StatusUnprocessableEntity, kura.EKEYREUSED)
		if !strings.Contains(e.Error.Message, "Idempotency-Key") {
			t.Errorf("message %q does not name the header", e.Error.Message)
		}
		mustError(t, in.keyed("POST", "/api/echo", "k1", "", annBody), http.StatusUnprocessableEntity, kura.EKEYREUSED)

		for name, key := range map[string]string{
			"TooLong":      strings.Repeat("x", kura.MaxIdempotencyKey+1),
			"Control":      "abc\x01def",
			"NotASCII":     "clé",
			"Delete":       "abc\x7f",
			"TabInsideKey": "a\tb",
		} {
			t.Run(name, func(t *testing.T) {
				e := mustError(t, in.keyed("POST", "/api/users", key, "", other), http.StatusBadRequest, kura.EBADREQUEST)
				if !strings.Contains(e.Error.Message, "Idempotency-Key") || !strings.Contains(e.Error.Message, "255") {
					t.Errorf("message %q does not say what a key must be", e.Error.Message)
				}
			})
		}
		req := httptest.NewRequest("POST", "/api/users", strings.NewReader(other))
		req.Header.Add(httpapi.IdempotencyKeyHeader, "k2")
		req.Header.Add(httpapi.IdempotencyKeyHeader, "k3")
		w := httptest.NewRecorder()
		in.srv.Handler().ServeHTTP(w, req)
		mustError(t, w, http.StatusBadRequest, kura.EBADREQUEST)
		if got := countUsers(t, db); got != 1 {
			t.Fatalf("%d users; the refused requests wrote something", got)
		}
		// The longest key is fine, and a new key with the other body runs.
		mustStatus(t, in.keyed("POST", "/api/users", strings.Repeat("~", kura.MaxIdempotencyKey), "", other), http.StatusCreated)
	})
}

// TestIdempotency_NotKeptAnswers: a 5xx, a 503 of an unavailable
// dependency, a 429 and a panic are not kept, so the retry runs; the
// answer after them is kept and replayed, headers included.
func TestIdempotency_NotKeptAnswers(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, url string) {
		app := &idemApp{fail: func(run int64) error {
			switch run {
			case 1:
				return kura.Errorf(kura.EINTERNAL, "boom")
			case 2:
				return &kura.Error{Code: kura.EUNAVAILABLE, Message: "The database is out of reach.", Err: context.DeadlineExceeded}
			case 3:
				return httpapi.RateLimited(time.Second)
			case 4:
				panic("handler bug")
			}
			return nil
		}}
		in := newIdemInstance(t, url, app)
		const body = `{"n":1}`
		for _, want := range []int{500, 503, 429, 500} {
			if w := in.keyed("POST", "/api/echo", "retry-me", "", body); w.Code != want || replayed(w) {
				t.Fatalf("run %d: %d (replayed %v) %s; want %d", app.runs.Load(), w.Code, replayed(w), w.Body, want)
			}
		}
		w := in.keyed("POST", "/api/echo", "retry-me", "", body)
		mustStatus(t, w, http.StatusOK)
		again := in.keyed("POST", "/api/echo", "retry-me", "", body)
		if !replayed(again) || again.Code != 200 || again.Body.String() != w.Body.String() ||
			again.Header().Get("Location") != "/api/echo/1" || again.Header().Get("Cache-Control") != "no-store" ||
			again.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("replay: %d %v %s; want the fifth run's 200 %s", again.Code, again.Header(), again.Body, w.Body)
		}
		if got := app.runs.Load(); got != 5 {
			t.Fatalf("%d runs; want 5 (four answers not kept, then one kept and replayed)", got)
		}
	})
}

// TestIdempotency_ScopeAndRoutes: a key is the caller's: another user
// with the same key and body runs anew; a GET and the login take no key;
// DELETE answers its 204 again rather than a 404.
func TestIdempotency_ScopeAndRoutes(t *testing.T) {
	t.Parallel()
	url := migratedURL(t, sqldb.SQLite)
	in := newIdemInstance(t, url, &idemApp{})
	login := func(name string) (int64, string) {
		w := in.keyed("POST", "/api/users", "", "", `{"email":"`+name+`@example.com","username":"`+name+`","password":"correct horse"}`)
		mustStatus(t, w, http.StatusCreated)
		var u struct{ ID int64 }
		mustDecode(t, w, &u)
		l := in.keyed("POST", "/api/auth/login", "login-key", "", `{"login":"`+name+`","password":"correct horse"}`)
		mustStatus(t, l, http.StatusOK)
		var s struct{ Token string }
		mustDecode(t, l, &s)
		if replayed(l) {
			t.Fatal("a login was replayed: its token would be stored")
		}
		return u.ID, s.Token
	}
	_, annTok := login("ann")
	bobID, bobTok := login("bob") // the same login-key: logins take no key

	// A registration's key is its address's, whatever token it carries.
	carl := `{"email":"carl@example.com","username":"carl","password":"correct horse"}`
	mustStatus(t, in.keyed("POST", "/api/users", "reg-carl", annTok, carl), http.StatusCreated)
	if w := in.keyed("POST", "/api/users", "reg-carl", "not-a-token", carl); w.Code != http.StatusCreated || !replayed(w) {
		t.Fatalf("a registration retried with another token: %d, replayed %v; want the 201 again", w.Code, replayed(w))
	}

	a := in.keyed("POST", "/api/echo", "shared", annTok, `{"x":1}`)
	b := in.keyed("POST", "/api/echo", "shared", bobTok, `{"x":1}`)
	anon := in.keyed("POST", "/api/echo", "shared", "", `{"x":1}`)
	for name, w := range map[string]*httptest.ResponseRecorder{"ann": a, "bob": b, "anonymous": anon} {
		if w.Code != 200 || replayed(w) {
			t.Fatalf("%s: %d, replayed %v; want a run of its own", name, w.Code, replayed(w))
		}
	}
	if w := in.keyed("POST", "/api/echo", "shared", bobTok, `{"x":1}`); !replayed(w) || w.Body.String() != b.Body.String() {
		t.Fatalf("bob's retry: replayed %v %s; want bob's answer %s", replayed(w), w.Body, b.Body)
	}

	get := in.keyed("GET", "/api/users/me", "shared", annTok, "")
	if get.Code != 200 || replayed(get) {
		t.Fatalf("GET with a key: %d, replayed %v", get.Code, replayed(get))
	}

	// An admin's deletion of bob, retried, answers its 204 again rather than a 404.
	if _, err := in.db.Writer().Exec(in.db.Rebind("UPDATE users SET role = 'admin' WHERE username = ?"), "ann"); err != nil {
		t.Fatal(err)
	}
	path := "/api/users/" + strconv.FormatInt(bobID, 10)
	mustStatus(t, in.keyed("DELETE", path, "del-1", annTok, ""), http.StatusNoContent)
	if w := in.keyed("DELETE", path, "del-1", annTok, ""); w.Code != http.StatusNoContent || !replayed(w) {
		t.Fatalf("retry of a deletion: %d, replayed %v; want the 204 again", w.Code, replayed(w))
	}
	if w := in.keyed("DELETE", path, "del-2", annTok, ""); w.Code != http.StatusNotFound {
		t.Fatalf("a new deletion of a deleted user: %d; want 404", w.Code)
	}
}

// TestIdempotency_Except: an app's route in IdempotencyExcept ignores
// the header: every request runs.
func TestIdempotency_Except(t *testing.T) {
	t.Parallel()
	app := &idemApp{}
	in := newIdemInstance(t, migratedURL(t, sqldb.SQLite), app, func(c *httpapi.Config) {
		c.IdempotencyExcept = []string{"POST /api/echo"}
	})
	for range 2 {
		if w := in.keyed("POST", "/api/echo", "k", "", `{}`); w.Code != http.StatusOK || replayed(w) {
			t.Fatalf("%d, replayed %v", w.Code, replayed(w))
		}
	}
	if got := app.runs.Load(); got != 2 {
		t.Fatalf("%d runs; want 2", got)
	}
}

// TestIdempotency_InProgress: a duplicate of a request still running
// waits for IdempotencyWait, then gets 409 in_progress with Retry-After;
// once the first has answered, the retry gets its answer.
func TestIdempotency_InProgress(t *testing.T) {
	forEachEngineURL(t, func(t *testing.T, url string) {
		app := &idemApp{block: make(chan struct{}), entered: make(chan struct{}, 1)}
		in := newIdemInstance(t, url, app, func(c *httpapi.Config) { c.IdempotencyWait = 50 * time.Millisecond })
		first := make(chan *httptest.ResponseRecorder)
		go func() { first <- in.keyed("POST", "/api/echo", "slow", "", `{}`) }()
		<-app.entered
		w := in.keyed("POST", "/api/echo", "slow", "", `{}`)
		mustError(t, w, http.StatusConflict, kura.EINPROGRESS)
		if w.Header().Get("Retry-After") == "" {
			t.Error("409 in_progress without Retry-After")
		}
		close(app.block)
		f := <-first
		mustStatus(t, f, http.StatusOK)
		if w := in.keyed("POST", "/api/echo", "slow", "", `{}`); !replayed(w) || w.Body.String() != f.Body.String() {
			t.Fatalf("after the first answered: replayed %v %s", replayed(w), w.Body)
		}
		if got := app.runs.Load(); got != 1 {
			t.Fatalf("%d runs; want 1", got)
		}
	})
}

// BenchmarkIdempotencyKey measures, on each engine, a write route that
// touches no table (so the figures are the keys' own cost): without a
// key, with a new key each time (claim, then keep the answer: two
// commits), and replaying a kept answer.
func BenchmarkIdempotencyKey(b *testing.B) {
	for _, d := range dbtest.Engines {
		b.Run(string(d), func(b *testing.B) {
			in := newIdemInstance(b, migratedURL(b, d), &idemApp{}, func(c *httpapi.Config) { c.Limiter = ratelimit.None{} })
			in.keyed("POST", "/api/echo", "replay", "", `{"a":1}`)
			for _, mode := range []string{"none", "new", "replay"} {
				b.Run(mode, func(b *testing.B) {
					for i := 0; b.Loop(); i++ {
						key := map[string]string{"new": "k-" + strconv.Itoa(i) + "-" + b.Name(), "replay": "replay"}[mode]
						if w := in.keyed("POST", "/api/echo", key, "", `{"a":1}`); w.Code != http.StatusOK {
							b.Fatal(w.Code, w.Body)
						}
					}
				})
			}
		})
	}
}
