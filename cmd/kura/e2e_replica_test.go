package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura/internal/testenv"
)

// replicaPairs is how many write-then-read pairs TestReplicaReads makes:
// KURA_TEST_REPLICA_PAIRS, else 10,000 (docs/BENCHMARKS.md).
func replicaPairs(t *testing.T) int {
	if v := os.Getenv("KURA_TEST_REPLICA_PAIRS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KURA_TEST_REPLICA_PAIRS=%q: want a positive whole number", v)
		}
		return n
	}
	return 10000
}

// staleOKReads returns kura_db_stale_ok_reads_total by target, scraped
// from the API's /metrics.
func staleOKReads(t *testing.T, s *server) (primary, replica float64) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "kura_db_stale_ok_reads_total{") {
			continue
		}
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if strings.Contains(line, `target="primary"`) {
			primary += v
		} else {
			replica += v
		}
	}
	return primary, replica
}

// TestReplicaReads drives kura serve with a streaming replica that applies
// changes 2 s after their commit: no user ever reads a stale copy of their
// own write, others' public reads go to the replica, and the replica
// stopped under load fails no request.
func TestReplicaReads(t *testing.T) {
	set := testenv.StartPGReplicaSet(t, 2*time.Second)
	s := startKura(t, "DATABASE_URL="+set.PrimaryURL(), "DATABASE_REPLICA_URLS="+set.ReplicaURL(),
		"CACHE_TTL=0", "KURA_RATE_LIMIT=false", "KURA_WORKERS=0", "KURA_METRICS_TOKEN="+metricsToken)
	testenv.Wait(t, 0, "the replica in use in /health", func() bool {
		r := s.do(t, "GET", "/health", "", nil)
		note, _ := r.Body["replica-1"].(string)
		return strings.HasPrefix(note, "lag ")
	})

	const workers = 8
	ids, tokens := make([]int64, workers), make([]string, workers)
	for i := range workers {
		u := register(t, s, fmt.Sprintf("replica%d@example.com", i), fmt.Sprintf("replica%d", i))
		ids[i], tokens[i] = u.id(), login(t, s, fmt.Sprintf("replica%d", i), "correct horse battery")
	}
	// Others see a new user once the replica has applied it (2 s later);
	// until then a public read of it is a 404, stale as allowed.
	testenv.Wait(t, 0, "the users on the replica", func() bool {
		_, r0 := staleOKReads(t, s)
		ok := s.do(t, "GET", "/api/users/"+strconv.FormatInt(ids[workers-1], 10), "", nil).Status == http.StatusOK
		_, r1 := staleOKReads(t, s)
		return ok && r1 > r0
	})

	// run makes n write-then-read pairs over the workers, each pair also
	// reading another user's public profile, and calls mid once half are
	// done. It counts stale reads of one's own write, stale public reads
	// of others' writes, and failed requests.
	run := func(n int, mid func()) (int64, int64, int64, time.Duration) {
		var done, ownStale, othersStale, failed atomic.Int64
		latest := make([]atomic.Value, workers) // each worker's name, once read back
		for w := range workers {
			latest[w].Store("")
		}
		var once sync.Once
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				other := (w + 1) % workers
				for i := w; i < n; i += workers {
					name := fmt.Sprintf("r%d_%d", w, i)
					if r := s.do(t, "PATCH", "/api/users/"+strconv.FormatInt(ids[w], 10), tokens[w], map[string]string{"username": name}); r.Status != http.StatusOK {
						failed.Add(1)
						continue
					}
					r := s.do(t, "GET", "/api/users/"+strconv.FormatInt(ids[w], 10), tokens[w], nil)
					if r.Status != http.StatusOK {
						failed.Add(1)
					} else if r.Body["username"] != name {
						ownStale.Add(1)
					}
					latest[w].Store(name)
					before := latest[other].Load()
					pub := s.do(t, "GET", "/api/users/"+strconv.FormatInt(ids[other], 10), "", nil)
					if pub.Status != http.StatusOK {
						t.Logf("public read: %d %s", pub.Status, pub.Raw)
						failed.Add(1)
					} else if got := pub.Body["username"]; got != before && got != latest[other].Load() {
						othersStale.Add(1) // older than what the other user had already read back
					}
					if done.Add(1) == int64(n/2) && mid != nil {
						once.Do(mid)
					}
				}
			})
		}
		wg.Wait()
		return ownStale.Load(), othersStale.Load(), failed.Load(), time.Since(start)
	}

	n := replicaPairs(t)
	p0, r0 := staleOKReads(t, s)
	own, others, failed, took := run(n, nil)
	p1, r1 := staleOKReads(t, s)
	share := (r1 - r0) / (p1 - p0 + r1 - r0)
	t.Logf("%d pairs in %s: %d stale reads of one's own write, %d failed; public reads of others: %d stale; "+
		"reads that may be stale: %.0f on the replica, %.0f on the primary (%.1f%% on the replica)",
		n, took.Round(time.Millisecond), own, failed, others, r1-r0, p1-p0, 100*share)
	if own != 0 || failed != 0 {
		t.Fatalf("%d stale reads of one's own write, %d failed requests; want 0 and 0\n%s", own, failed, s.logs.String())
	}
	if r1-r0 == 0 {
		t.Fatal("no read went to the replica")
	}

	// The replica stopped half-way through: its reads go to the primary.
	own, _, failed, took = run(n/5, func() { set.StopReplica() })
	t.Logf("replica stopped mid-load: %d pairs in %s, %d failed requests, %d stale own reads; /health replica-1: %v",
		n/5, took.Round(time.Millisecond), failed, own, s.do(t, "GET", "/health", "", nil).Body["replica-1"])
	if own != 0 || failed != 0 {
		t.Fatalf("replica stopped: %d stale reads of one's own write, %d failed requests; want 0 and 0", own, failed)
	}
	r := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
	if note, _ := r.Body["replica-1"].(string); !strings.HasPrefix(note, "skipped") {
		t.Fatalf("/health replica-1 = %q with the replica stopped; want skipped", note)
	}
}

// TestReplicaReads_TwoInstances: each user writes through one instance and
// reads back through another; REDIS_URL shares the write positions, so no
// read of one's own write is stale there either.
func TestReplicaReads_TwoInstances(t *testing.T) {
	set := testenv.StartPGReplicaSet(t, 2*time.Second)
	redis := testenv.StartRedis(t)
	env := []string{"DATABASE_URL=" + set.PrimaryURL(), "DATABASE_REPLICA_URLS=" + set.ReplicaURL(), "REDIS_URL=" + redis.URL(),
		"CACHE_TTL=0", "KURA_RATE_LIMIT=false", "KURA_WORKERS=0"}
	a, b := startKura(t, env...), startKura(t, env...)
	for _, s := range []*server{a, b} {
		testenv.Wait(t, 0, "the replica in use in /health", func() bool {
			note, _ := s.do(t, "GET", "/health", "", nil).Body["replica-1"].(string)
			return strings.HasPrefix(note, "lag ")
		})
	}
	const workers = 4
	n := max(replicaPairs(t)/10, workers)
	var stale, failed atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		u := register(t, a, fmt.Sprintf("two%d@example.com", w), fmt.Sprintf("two%d", w))
		id, token := strconv.FormatInt(u.id(), 10), login(t, a, fmt.Sprintf("two%d", w), "correct horse battery")
		wg.Go(func() {
			for i := w; i < n; i += workers {
				name := fmt.Sprintf("t%d_%d", w, i)
				if a.do(t, "PATCH", "/api/users/"+id, token, map[string]string{"username": name}).Status != http.StatusOK {
					failed.Add(1)
					continue
				}
				r := b.do(t, "GET", "/api/users/"+id, token, nil)
				switch {
				case r.Status != http.StatusOK:
					failed.Add(1)
				case r.Body["username"] != name:
					stale.Add(1)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d pairs written through one instance, read through another: %d stale, %d failed", n, stale.Load(), failed.Load())
	if stale.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("%d stale reads of one's own write, %d failed requests; want 0 and 0", stale.Load(), failed.Load())
	}
}

// TestServe_ReplicaURLs: serve refuses a replica URL whose server is not
// in recovery (the primary under another spelling), saying so without the
// password; it starts with a replica that is down, and says it is skipped.
func TestServe_ReplicaURLs(t *testing.T) {
	primary := testenv.PostgresDatabase(t)
	t.Run("ErrPrimary", func(t *testing.T) {
		logs := &syncBuffer{}
		m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: logs, Environ: []string{noMetricsListener, noBackups,
			"DATABASE_URL=" + primary, "DATABASE_REPLICA_URLS=" + primary + "&application_name=replica", "KURA_DB_CONNECT_TIMEOUT=0"}}
		_, err := serveUntilEnd(t, m)
		if err == nil || !strings.Contains(err.Error(), "not in recovery") {
			t.Fatalf("serve: %v; want it refused: not in recovery\n%s", err, logs.String())
		}
	})
	t.Run("DownAtStart", func(t *testing.T) {
		down := "postgres://postgres@127.0.0.1:" + testenv.FreePort(t) + "/postgres?sslmode=disable"
		s := startKura(t, "DATABASE_URL="+primary, "DATABASE_REPLICA_URLS="+down)
		r := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
		if r.Body["replica-1"] != "skipped (down)" {
			t.Fatalf("/health replica-1 = %v; want skipped (down)", r.Body["replica-1"])
		}
		u := register(t, s, "down@example.com", "down")
		s.do(t, "GET", "/api/users/"+strconv.FormatInt(u.id(), 10), "", nil).want(t, http.StatusOK) // read from the primary
	})
}
