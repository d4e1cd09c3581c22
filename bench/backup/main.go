// Command backup measures what an online backup costs the application: a
// steady, open-loop load of profile updates (kura's UserService.UpdateUser,
// no password hashing) runs against a database of -users users, first
// alone, then while kura's backup.Create runs. It reports the writes' rate,
// p50 and p99 and failures in both phases, the ratio of the p99s, and the
// backup's and the restore's time and size: kura's RPO and RTO figures.
//
//	go run ./bench/backup -url sqlite:/tmp/bench.db -users 1000000
//	go run ./bench/backup -url postgres://postgres@127.0.0.1/kura_backup_bench?sslmode=disable   # load.sh uses kura_bench
//
// The database is seeded up to -users once and reused by later runs.
// Latency is measured from each write's scheduled time, so a stall shows
// in full rather than slowing the load down (no coordinated omission).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func main() {
	dbURL := flag.String("url", "sqlite:"+filepath.Join(os.TempDir(), "kura-bench-backup.db"), "the database")
	users := flag.Int("users", 1_000_000, "users the database holds (seeded once)")
	rate := flag.Int("rate", 500, "writes per second")
	phase := flag.Duration("phase", 20*time.Second, "length of the phase without a backup")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "kura-bench-backups"), "backup folder")
	restoreTo := flag.String("restore-to", "", "database to restore into (default: a new file or a new database on the same server)")
	flag.Parse()
	ctx := context.Background()

	db, err := sqldb.Open(ctx, sqldb.Config{URL: *dbURL})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema, jobs.Schema); err != nil {
		log.Fatal(err)
	}
	lo, hi := seed(ctx, db, *users)
	svc := accounts.NewUserService(db)
	write := func(ctx context.Context) error {
		id := lo + rand.Int64N(hi-lo+1)
		name := fmt.Sprintf("b%x", rand.Uint64())
		_, err := svc.UpdateUser(ctx, id, kura.UserUpdate{Username: &name})
		if kura.ErrorCode(err) == kura.ENOTFOUND {
			return nil
		}
		return err
	}

	fmt.Fprintf(os.Stderr, "phase 1: %d writes/s for %s, no backup\n", *rate, *phase)
	base := runLoad(ctx, *rate, *phase, write, nil)

	fmt.Fprintf(os.Stderr, "phase 2: %d writes/s, a backup 2s in\n", *rate)
	var window [2]time.Time
	// The backup's steps and when each began, to tell which one costs the
	// writes most.
	var steps []step
	var stepsMu sync.Mutex
	cfg := backup.Config{URL: *dbURL, Dir: *dir, Progress: func(p backup.Progress) {
		stepsMu.Lock()
		defer stepsMu.Unlock()
		if (len(steps) == 0 || steps[len(steps)-1].name != p.Step) && window[1].IsZero() {
			steps = append(steps, step{p.Step, time.Now()})
		}
	}}
	var m *backup.Manifest
	var backupErr error
	during := runLoad(ctx, *rate, 0, write, func() {
		time.Sleep(2 * time.Second)
		window[0] = time.Now()
		m, backupErr = backup.Create(ctx, cfg)
		window[1] = time.Now()
		time.Sleep(2 * time.Second)
	})
	if backupErr != nil {
		log.Fatal(backupErr)
	}
	in := during.between(window[0], window[1])

	to, drop := target(ctx, *dbURL, *restoreTo)
	defer drop()
	start := time.Now()
	if err := backup.Restore(ctx, m, cfg, backup.RestoreOptions{To: to}); err != nil {
		log.Fatal(err)
	}
	restore := time.Since(start)

	fmt.Printf("engine %s, %d users (%d rows in all), %d writes/s\n", db.Dialect(), tableRows(m, "users"), m.Rows(), *rate)
	fmt.Printf("| phase | writes | writes/s | p50 ms | p99 ms | max ms | failed |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	base.row("no backup", *phase)
	in.row("during the backup", window[1].Sub(window[0]))
	for i, st := range steps {
		end := window[1]
		if i+1 < len(steps) {
			end = steps[i+1].at
		}
		during.between(st.at, end).row("· "+st.name, end.Sub(st.at))
	}
	fmt.Printf("p99 during / p99 without: %.2f×\n", in.pct(99).Seconds()/base.pct(99).Seconds())
	fmt.Printf("backup: %s, %.1f MiB (%s); restore: %s\n", time.Duration(m.Duration*float64(time.Second)).Round(time.Millisecond),
		float64(m.Size)/(1<<20), m.Format, restore.Round(time.Millisecond))
	os.Remove(m.Path())
	os.Remove(filepath.Join(m.Dir(), m.Name+".json"))
	if base.failed+during.failed > 0 {
		os.Exit(1)
	}
}

// step is a step of the backup and when it began.
type step struct {
	name string
	at   time.Time
}

// seed fills the database up to n users and returns the range of ids.
func seed(ctx context.Context, db *sqldb.DB, n int) (lo, hi int64) {
	var have int
	if err := db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&have); err != nil {
		log.Fatal(err)
	}
	if have < n {
		fmt.Fprintf(os.Stderr, "seeding %d users\n", n-have)
		if err := accounts.NewUserService(db).SeedUsers(ctx, n-have, nil); err != nil {
			log.Fatal(err)
		}
	}
	if err := db.Reader().QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM users").Scan(&lo, &hi); err != nil {
		log.Fatal(err)
	}
	return lo, hi
}

// result holds every write's scheduled time, latency and outcome.
type result struct {
	at      []time.Time
	latency []time.Duration
	failed  int
}

// runLoad schedules rate writes a second, each in a goroutine of its own,
// for d, or while during runs when it is set; it waits for all of them.
func runLoad(ctx context.Context, rate int, d time.Duration, write func(context.Context) error, during func()) *result {
	var (
		mu  sync.Mutex
		res result
		wg  sync.WaitGroup
	)
	done := make(chan struct{})
	if during != nil {
		go func() { during(); close(done) }()
	} else {
		go func() { time.Sleep(d); close(done) }()
	}
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	for {
		select {
		case <-done:
			wg.Wait()
			return &res
		default:
		}
		time.Sleep(time.Until(next))
		at := next
		next = next.Add(interval)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := write(ctx)
			lat := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			res.at = append(res.at, at)
			res.latency = append(res.latency, lat)
			if err != nil {
				res.failed++
				fmt.Fprintln(os.Stderr, "write failed:", err)
			}
		}()
	}
}

// between returns the writes scheduled from a to b.
func (r *result) between(a, b time.Time) *result {
	out := &result{failed: r.failed}
	for i, at := range r.at {
		if !at.Before(a) && at.Before(b) {
			out.at = append(out.at, at)
			out.latency = append(out.latency, r.latency[i])
		}
	}
	return out
}

func (r *result) pct(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	s := slices.Clone(r.latency)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}

func (r *result) row(name string, d time.Duration) {
	ms := func(x time.Duration) string { return fmt.Sprintf("%.2f", x.Seconds()*1000) }
	fmt.Printf("| %s | %d | %.0f | %s | %s | %s | %d |\n", name, len(r.latency), float64(len(r.latency))/d.Seconds(),
		ms(r.pct(50)), ms(r.pct(99)), ms(r.pct(100)), r.failed)
}

func tableRows(m *backup.Manifest, name string) int64 {
	for _, t := range m.Tables {
		if t.Name == name {
			return t.Rows
		}
	}
	return 0
}

// target returns where to restore and how to drop it: -restore-to, or a
// new SQLite file, or a new database on the same server.
func target(ctx context.Context, dbURL, to string) (string, func()) {
	if to != "" {
		return to, func() {}
	}
	d, _ := sqldb.ParseDialect(dbURL)
	if d == sqldb.SQLite {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("kura-bench-restore-%d.db", time.Now().UnixNano()))
		return "sqlite:" + path, func() { os.Remove(path); os.Remove(path + "-wal"); os.Remove(path + "-shm") }
	}
	admin, err := sqldb.Open(ctx, sqldb.Config{URL: dbURL, PoolSize: 1})
	if err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("kura_bench_restore_%d", time.Now().UnixNano())
	if _, err := admin.Writer().ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(dbURL)
	u.Path = "/" + name
	return u.String(), func() {
		drop := "DROP DATABASE " + name
		if d == sqldb.Postgres {
			drop += " WITH (FORCE)"
		}
		admin.Writer().ExecContext(ctx, drop)
		admin.Close()
	}
}
