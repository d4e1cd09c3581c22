package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// The rate limits tried as an attacker would, end to end: on every engine,
// two servers sharing their limits through Redis, behind a trusted proxy
// (the test, at 127.0.0.1, which appends the client's address to
// X-Forwarded-For as a proxy does).

// header is one header line, its name written exactly as given.
type header struct{ name, value string }

// raw sends a request over a connection of its own, written byte for byte
// (header names as spelled, repeated lines kept, in order), as the proxy
// would forward it for the client at addr: the client's own
// X-Forwarded-For lines, then the proxy's, naming addr.
func (s *server) raw(t *testing.T, addr, method, path string, headers []header, body any) response {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(body)
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, path, u.Host)
	if body != nil {
		fmt.Fprintf(&req, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(b))
	}
	for _, h := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", h.name, h.value)
	}
	fmt.Fprintf(&req, "X-Forwarded-For: %s\r\n\r\n", addr)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(append([]byte(req.String()), b...)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out response
	out.Status, out.Header = res.StatusCode, res.Header
	raw, _ := io.ReadAll(res.Body)
	out.Raw = string(raw)
	json.Unmarshal([]byte(out.Raw), &out.Body)
	return out
}

// pair starts two servers with env, sharing the standard Redis under a
// prefix of their own.
func pair(t *testing.T, env ...string) []*server {
	env = append(env, "REDIS_URL="+testenv.RedisURL(t), "KURA_CACHE_PREFIX=kura-test-"+testenv.RandomSuffix()+":",
		"KURA_TRUSTED_PROXIES=127.0.0.1/32")
	return []*server{startKura(t, env...), startKura(t, env...)}
}

const pw = "correct horse battery"

// signUp registers a user from addr and returns their id.
func signUp(t *testing.T, s *server, addr, email, username string) int64 {
	t.Helper()
	return s.from(t, addr, "POST", "/api/users", map[string]string{"email": email, "username": username, "password": pw}).
		want(t, http.StatusCreated).id()
}

// logIn logs in from addr and returns the token.
func logIn(t *testing.T, s *server, addr, login string) string {
	t.Helper()
	r := s.from(t, addr, "POST", "/api/auth/login", map[string]string{"login": login, "password": pw}).want(t, http.StatusOK)
	tok, _ := r.Body["token"].(string)
	return tok
}

// answer is a status and, for a 429, its Retry-After.
func answer(r response) string {
	if r.Status == http.StatusTooManyRequests {
		return "429 after " + r.Header.Get("Retry-After")
	}
	return strconv.Itoa(r.Status)
}

// TestEndToEnd_SecurityLimits tries the limits as an attacker would, on
// each engine with two servers sharing Redis: headers that used to switch
// the registration limit off, spellings of one account, an unknown
// account, a stolen token guessing through PATCH, anonymous enumeration,
// and parallel guessing from many addresses while the owner logs in.
func TestEndToEnd_SecurityLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		slow := pair(t, "DATABASE_URL="+dbURL, "KURA_LOGIN_RATE=off", "KURA_LOGIN_FAILURE_RATE=3/1h",
			"KURA_REGISTER_RATE=4/1h", "KURA_ANON_READ_RATE=5/1h")
		t.Run("RegistrationWhateverTheHeaders", func(t *testing.T) { registrationHeaders(t, slow) })
		t.Run("OneAllowancePerAccount", func(t *testing.T) { accountSpellings(t, slow) })
		t.Run("PatchGuessesShareIt", func(t *testing.T) { patchGuesses(t, slow) })
		t.Run("AnonymousReads", func(t *testing.T) { anonymousReads(t, slow) })
		fast := pair(t, "DATABASE_URL="+dbURL, "KURA_LOGIN_RATE=off", "KURA_LOGIN_FAILURE_RATE=5/20s")
		t.Run("ParallelGuesses", func(t *testing.T) { parallelGuesses(t, fast) })
	})
}

// registrationHeaders registers from one address with every Authorization
// header a script might send to look authenticated, and X-Forwarded-For
// lines of its own: the address's 4 registrations an hour hold.
func registrationHeaders(t *testing.T, servers []*server) {
	const attacker = "198.51.100.20"
	signUp(t, servers[0], "192.0.2.20", "reg@example.com", "reg") // another address
	tok := logIn(t, servers[0], "192.0.2.20", "reg")
	variants := [][]header{
		{{"Authorization", "Bearer garbage"}},
		{{"Authorization", "Basic dXNlcjpwYXNzd29yZA=="}},
		{{"Authorization", "Bearer "}},
		{{"authorization", "Bearer garbage"}},
		{{"AUTHORIZATION", "bearer " + tok}},
		{{"Authorization", "Bearer garbage"}, {"Authorization", "Bearer " + tok}},
		{{"Authorization", "Bearer " + tok}},
		{{"X-Forwarded-For", "203.0.113.1"}},
		{{"x-forwarded-for", "203.0.113.2, 203.0.113.3"}, {"Authorization", "Bearer " + tok}},
		{},
	}
	var got []string
	for i, hs := range variants {
		name := fmt.Sprintf("reg%d", i)
		r := servers[i%2].raw(t, attacker, "POST", "/api/users", hs, map[string]string{"email": name + "@example.com", "username": name, "password": pw})
		got = append(got, answer(r))
		if i < 4 && r.Status != http.StatusCreated || i >= 4 && r.Status != http.StatusTooManyRequests {
			t.Errorf("registration %d with %v: %s, want 201 for the first 4 and 429 after", i+1, hs, r.Raw)
		}
	}
	t.Logf("10 registrations from one address, headers varied: %v", got)
}

// accountSpellings guesses one account's password by every spelling of
// its login, then an unknown account's the same way, from a new address
// each time: both meet one allowance of 3, and answer alike.
func accountSpellings(t *testing.T, servers []*server) {
	signUp(t, servers[0], "192.0.2.30", "bea@bücher.de", "Bea_K")
	known := []string{"bea@bücher.de", "BEA@BÜCHER.DE", "bea@ｂüｃｈｅｒ.ｄｅ", "bea@bücher。de", "bea@xn--bcher-kva.de", "Bea_K", "BEA_K"}
	unknown := []string{"zed@bücher.de", "ZED@BÜCHER.DE", "zed@ｂüｃｈｅｒ.ｄｅ", "zed@bücher。de", "zed@xn--bcher-kva.de", "Zed@Bücher.De", "ZED@XN--BCHER-KVA.DE"}
	guess := func(logins []string, net string) (statuses []int, retry []int) {
		for i, login := range logins {
			r := servers[i%2].from(t, fmt.Sprintf("%s.%d", net, i+1), "POST", "/api/auth/login", map[string]string{"login": login, "password": "guess " + strconv.Itoa(i)})
			statuses = append(statuses, r.Status)
			if r.Status == http.StatusTooManyRequests {
				n, _ := strconv.Atoi(r.Header.Get("Retry-After"))
				retry = append(retry, n)
			}
		}
		return statuses, retry
	}
	start := time.Now()
	ks, kr := guess(known, "203.0.113")
	us, ur := guess(unknown, "198.51.100")
	elapsed := int(time.Since(start).Seconds()) + 1
	want := []int{401, 401, 401, 429, 429, 429, 429}
	for i := range want {
		if ks[i] != want[i] || us[i] != want[i] {
			t.Fatalf("guesses by spelling: known account %v, unknown %v; want both %v", ks, us, want)
		}
	}
	// 3 an hour: the next turn is 20 minutes after the first guess, less
	// the time the run took.
	for _, n := range append(kr, ur...) {
		if n > 1200 || n < 1200-elapsed {
			t.Fatalf("Retry-After %v (known) and %v (unknown), want 1200 less at most %d s", kr, ur, elapsed)
		}
	}
	t.Logf("7 spellings each: known %v, unknown %v, Retry-After %v and %v", ks, us, kr, ur)
}

// patchGuesses has a stolen token guess the current password through
// PATCH from the thief's address: the guesses take from the account's
// allowance, so the thief's logins are refused too, while the owner, at
// an address they logged in from, still logs in and changes the password.
func patchGuesses(t *testing.T, servers []*server) {
	const home, thief = "192.0.2.40", "203.0.113.40"
	id := signUp(t, servers[0], home, "cal@example.com", "cal")
	tok := logIn(t, servers[1], home, "cal") // 1 of 3, and home is known
	path := fmt.Sprintf("/api/users/%d", id)
	patch := func(s *server, addr string, body map[string]string) response {
		return s.raw(t, addr, "PATCH", path, []header{{"Authorization", "Bearer " + tok}}, body)
	}
	for i := range 2 { // an unchanged username needs no password, but one given is checked
		r := patch(servers[i%2], thief, map[string]string{"username": "cal", "current_password": "guess " + strconv.Itoa(i)})
		if r.Status != http.StatusUnprocessableEntity || r.fieldMessage("current_password") != "is not your current password" {
			t.Fatalf("PATCH guess %d: %s", i+1, r.Raw)
		}
	}
	for i, r := range []response{
		patch(servers[0], thief, map[string]string{"password": "a new horse battery", "current_password": pw}),
		servers[1].from(t, thief, "POST", "/api/auth/login", map[string]string{"login": "cal", "password": pw}),
		servers[0].from(t, "198.51.100.40", "POST", "/api/auth/login", map[string]string{"login": "CAL@example.com", "password": pw}),
	} {
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("check %d past the account's allowance: %d %s, want 429", i+1, r.Status, r.Raw)
		}
	}
	// The owner at home has an allowance of their own.
	logIn(t, servers[0], home, "cal@example.com")
	patch(servers[1], home, map[string]string{"password": "a new horse battery", "current_password": pw}).want(t, http.StatusOK)
}

// anonymousReads walks user ids anonymously from one address, then with
// tokens that do not verify: 5 reads an hour, while a verified token and
// the health checks are never counted.
func anonymousReads(t *testing.T, servers []*server) {
	const walker = "198.51.100.50"
	id := signUp(t, servers[0], "192.0.2.50", "dee@example.com", "dee")
	tok := logIn(t, servers[0], "192.0.2.50", "dee")
	for i := range 5 {
		r := servers[i%2].raw(t, walker, "GET", fmt.Sprintf("/api/users/%d", id+int64(i)), nil, nil)
		if r.Status == http.StatusTooManyRequests {
			t.Fatalf("anonymous read %d refused", i+1)
		}
	}
	for _, hs := range [][]header{nil, {{"Authorization", "Bearer garbage"}}, {{"authorization", "Basic eDp5"}}, {{"Authorization", "Bearer " + tok}, {"Authorization", "Bearer " + tok}}} {
		if r := servers[1].raw(t, walker, "GET", fmt.Sprintf("/api/users/%d", id), hs, nil); r.Status != http.StatusTooManyRequests {
			t.Fatalf("read past the allowance with %v: %d %s, want 429", hs, r.Status, r.Raw)
		}
	}
	servers[0].raw(t, walker, "GET", fmt.Sprintf("/api/users/%d", id), []header{{"Authorization", "Bearer " + tok}}, nil).want(t, http.StatusOK)
	servers[0].raw(t, walker, "GET", "/health", nil, nil).want(t, http.StatusOK)
	servers[1].raw(t, walker, "GET", "/health/live", nil, nil).want(t, http.StatusOK)
	servers[1].raw(t, "198.51.100.51", "GET", fmt.Sprintf("/api/users/%d", id), nil, nil).want(t, http.StatusOK)
}

// parallelGuesses has 10 clients at 10 addresses guess one account's
// password at once, through both servers, for 6 seconds, with an
// allowance of 5 in 20 s (one more every 4 s, a check waiting its turn up
// to 3 s: slower than the hashing of a loaded machine, so that the limit
// is what holds the guesses back). However many connections guess, the
// passwords checked (401) are at most the burst and one per interval of
// the run, plus the turn a check could reserve at its start (per server,
// if one had to count in process); meanwhile the owner, at home, logs in. The run's length sets how much is tried;
// the bound is computed from the time measured.
func parallelGuesses(t *testing.T, servers []*server) {
	const home = "192.0.2.60"
	signUp(t, servers[0], home, "eve@example.com", "eve")
	// The owner logs in through each server, as a balancer would spread
	// them: a server that finds Redis slow on a loaded machine then still
	// knows home from its own count.
	logIn(t, servers[0], home, "eve")
	logIn(t, servers[1], home, "eve")
	const clients = 10
	var checked, refused atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait() // no guess outlives the test, even one that failed
	start := time.Now()
	deadline := start.Add(6 * time.Second)
	for c := range clients {
		wg.Go(func() {
			for i := 0; i == 0 || time.Now().Before(deadline); i++ {
				status, err := servers[(c+i)%2].tryLogin(fmt.Sprintf("203.0.113.%d", 100+c), "eve@example.com", fmt.Sprintf("guess %d.%d", c, i))
				switch {
				case err != nil:
					t.Errorf("guess: %v", err)
					return
				case status == http.StatusUnauthorized:
					checked.Add(1)
				case status == http.StatusTooManyRequests:
					refused.Add(1)
					time.Sleep(50 * time.Millisecond) // spare the machine's cores; the other clients go on
				default:
					t.Errorf("guess: status %d", status)
					return
				}
			}
		})
	}
	testenv.Wait(t, 0, "the guessers to spend the account's allowance", func() bool { return refused.Load() > 0 })
	logIn(t, servers[0], home, "eve") // the owner, during the attack
	wg.Wait()
	elapsed := time.Since(start)
	const burst, interval = 5, 4 * time.Second
	most := int64(burst + elapsed/interval + 1)
	// A server that found Redis slower than its timeout (a loaded
	// machine) counted in process for a while, as in an outage: then each
	// server holds the bound on its own, and the two together twice it.
	degraded := 0
	for _, s := range servers {
		if strings.Contains(s.logs.String(), "counting in process") {
			degraded++
		}
	}
	alone := int64(1)
	if degraded > 0 {
		alone = int64(len(servers))
	}
	most *= alone
	if n := checked.Load(); n > most {
		t.Fatalf("%d parallel guesses checked and %d refused in %s; want at most %d checked ((%d + %s / %s + 1) × %d)",
			n, refused.Load(), elapsed.Round(time.Millisecond), most, burst, elapsed.Round(time.Millisecond), interval, alone)
	}
	t.Logf("%d clients for %s: %d guesses checked (at most %d allowed; %d servers counted in process for a while), %d refused (429)",
		clients, elapsed.Round(time.Millisecond), checked.Load(), most, degraded, refused.Load())
}

// tryLogin sends a login from addr, through the proxy, and returns the
// status: for goroutines, which must not stop the test.
func (s *server) tryLogin(addr, login, password string) (int, error) {
	raw, _ := json.Marshal(map[string]string{"login": login, "password": password})
	req, err := http.NewRequest("POST", s.URL+"/api/auth/login", bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}
