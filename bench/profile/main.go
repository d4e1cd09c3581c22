// Command profile measures the user profile document at scale, on one
// engine: it seeds -users users with profiles in SQL (once; a city among
// 1,000, and the same value as an unindexed "town"), then times
//
//   - a page of the admin list filtered by profile.city (the index), first
//     pages and pages after a cursor, against the same filter by
//     profile.town, which no index serves (a full scan);
//   - a merge patch of the profile (UserUpdate.Profile) against a plain
//     column update (UserUpdate.Username), through the user service;
//   - FindUserByID, the private read, with the profile column read, against
//     today's query without it, on the same rows;
//
// and prints the plans of both filters and a Markdown table.
//
//	go run ./bench/profile -url /tmp/kura-profile.db -users 1000000
//	go run ./bench/profile -url 'postgres://postgres@127.0.0.1:5432/kura_profile?sslmode=disable'
//	go run ./bench/profile -url 'mysql://root@127.0.0.1:3306/kura_profile'
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func main() {
	url := flag.String("url", "/tmp/kura-profile.db", "the database (created and migrated if need be)")
	users := flag.Int("users", 1_000_000, "users to seed")
	n := flag.Int("n", 200, "operations per measurement")
	flag.Parse()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: *url, PoolSize: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema); err != nil {
		log.Fatal(err)
	}
	if err := seed(ctx, db, *users); err != nil {
		log.Fatal(err)
	}
	s := accounts.NewUserService(db)
	d := db.Dialect()
	town := sqldb.JSONField{Column: "profile", Path: []string{"town"}}
	fmt.Printf("## %s, %d users\n\n", d, *users)
	for _, q := range []struct{ name, where string }{
		{"profile.city (indexed)", sqldb.JSONField{Column: "profile", Path: []string{"city"}, Generated: "profile_city"}.Expr(d)},
		{"profile.town (no index)", town.Expr(d)},
	} {
		plan, err := db.Explain(ctx, "SELECT id FROM users WHERE "+q.where+" = ? ORDER BY id DESC LIMIT 21", "city 7")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("plan, %s:\n```\n%s\n```\n\n", q.name, plan)
	}
	fmt.Println("| measurement | p50 | p95 | mean |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	row := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		var sum time.Duration
		for _, x := range ds {
			sum += x
		}
		fmt.Printf("| %s | %s | %s | %s |\n", name, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(sum/time.Duration(len(ds))))
	}
	row("filter by profile.city, first page of 20", times(*n, func(i int) error {
		_, err := s.ListUsers(ctx, kura.ListOptions{Limit: 20, Filter: kura.Filter{Field: "profile.city", Value: city(rand.IntN(1000))}})
		return err
	}))
	var after []time.Duration
	times(*n, func(i int) error {
		f := kura.Filter{Field: "profile.city", Value: city(rand.IntN(1000))}
		p, err := s.ListUsers(ctx, kura.ListOptions{Limit: 20, Filter: f})
		if err != nil || p.NextCursor == "" {
			return err
		}
		start := time.Now()
		_, err = s.ListUsers(ctx, kura.ListOptions{Limit: 20, Cursor: p.NextCursor, Filter: f})
		after = append(after, time.Since(start))
		return err
	})
	row("filter by profile.city, the page after a cursor", after)
	row("filter by profile.town (full scan), first page of 20", times(max(*n/40, 3), func(i int) error {
		return db.Read(ctx, func(q sqldb.Querier) error {
			_, err := sqldb.QueryAll(ctx, db, q, scanID, "SELECT id FROM users WHERE "+town.Expr(d)+" = ? ORDER BY id DESC LIMIT 21", city(rand.IntN(1000)))
			return err
		})
	}))
	ids := randomIDs(ctx, db, *n)
	row("merge patch of the profile (UpdateUser)", times(*n, func(i int) error {
		_, err := s.UpdateUser(ctx, ids[i], kura.UserUpdate{Profile: fmt.Appendf(nil, `{"bio":"patched %d","prefs":{"n":%d}}`, i, i)})
		return err
	}))
	row("plain column update: username (UpdateUser)", times(*n, func(i int) error {
		name := "renamed" + strconv.Itoa(i) + "x" + strconv.FormatInt(ids[i], 36)
		_, err := s.UpdateUser(ctx, ids[i], kura.UserUpdate{Username: &name})
		return err
	}))
	reads := *n * 10
	rids := randomIDs(ctx, db, reads)
	for round := range 2 {
		row(fmt.Sprintf("FindUserByID (the service, profile read; round %d)", round+1), times(reads, func(i int) error {
			_, err := s.FindUserByID(ctx, rids[i])
			return err
		}))
		row(fmt.Sprintf("the user by id with the profile, in Read (round %d)", round+1), times(reads, func(i int) error {
			return readUser(ctx, db, rids[i], true)
		}))
		row(fmt.Sprintf("the user by id as before, without it, in Read (round %d)", round+1), times(reads, func(i int) error {
			return readUser(ctx, db, rids[i], false)
		}))
	}
}

func city(i int) string { return "city " + strconv.Itoa(i) }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func times(n int, fn func(i int) error) []time.Duration {
	out := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if err := fn(i); err != nil {
			log.Fatal(err)
		}
		out[i] = time.Since(start)
	}
	return out
}

func scanID(s sqldb.Scanner) (int64, error) {
	var id int64
	return id, s.Scan(&id)
}

// readUser reads a user by id as the service's query does, with the
// profile or without it (the query before the profile).
func readUser(ctx context.Context, db *sqldb.DB, id int64, profile bool) error {
	var u kura.User
	q := "SELECT id, email, username, role, ts(created_at), ts(updated_at) FROM users WHERE id = ?"
	dest := []any{&u.ID, &u.Email, &u.Username, &u.Role, sqldb.Time(&u.CreatedAt), sqldb.Time(&u.UpdatedAt)}
	if profile {
		q = "SELECT id, email, username, role, ts(created_at), ts(updated_at), profile FROM users WHERE id = ?"
		dest = append(dest, (*sqldb.JSON)(&u.Profile))
	}
	return db.Read(ctx, func(qr sqldb.Querier) error { return qr.QueryRowContext(ctx, q, id).Scan(dest...) })
}

// seed inserts users up to n, each with a profile of about 200 bytes, in
// one statement per 100,000 per engine's own row generator, then
// refreshes the planner's statistics.
func seed(ctx context.Context, db *sqldb.DB, n int) error {
	var have int
	if err := db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&have)
	}); err != nil {
		return err
	}
	const bio = "A profile of the usual size: a sentence or two about the user, their work and where to find them."
	for from := have + 1; from <= n; from += 100_000 {
		to := min(from+99_999, n)
		start := time.Now()
		var q string
		switch db.Dialect() {
		case sqldb.Postgres:
			q = `INSERT INTO users (email, username, password_hash, profile)
				SELECT 'p' || g || '@example.com', 'p' || g, 'x', jsonb_build_object('bio', '` + bio + `',
					'city', 'city ' || (g % 1000), 'town', 'city ' || (g % 1000),
					'avatar_url', 'https://img.example/' || g || '.png', 'prefs', jsonb_build_object('theme', 'dark'))
				FROM generate_series(` + strconv.Itoa(from) + `, ` + strconv.Itoa(to) + `) g`
		case sqldb.MySQL:
			q = `INSERT INTO users (email, username, password_hash, profile)
				SELECT CONCAT('p', seq, '@example.com'), CONCAT('p', seq), 'x', JSON_OBJECT('avatar_url', CONCAT('https://img.example/', seq, '.png'),
					'bio', '` + bio + `', 'city', CONCAT('city ', seq % 1000), 'prefs', JSON_OBJECT('theme', 'dark'), 'town', CONCAT('city ', seq % 1000))
				FROM seq_` + strconv.Itoa(from) + `_to_` + strconv.Itoa(to)
		default:
			q = `INSERT INTO users (email, username, password_hash, profile)
				WITH RECURSIVE c(g) AS (SELECT ` + strconv.Itoa(from) + ` UNION ALL SELECT g + 1 FROM c WHERE g < ` + strconv.Itoa(to) + `)
				SELECT 'p' || g || '@example.com', 'p' || g, 'x', json_object('avatar_url', 'https://img.example/' || g || '.png',
					'bio', '` + bio + `', 'city', 'city ' || (g % 1000), 'prefs', json_object('theme', 'dark'), 'town', 'city ' || (g % 1000))
				FROM c`
		}
		if _, err := db.Writer().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed %d-%d: %w", from, to, err)
		}
		log.Printf("seeded users %d-%d in %s", from, to, time.Since(start).Round(time.Millisecond))
	}
	stmt := map[sqldb.Dialect]string{sqldb.SQLite: "ANALYZE", sqldb.Postgres: "VACUUM ANALYZE users", sqldb.MySQL: "ANALYZE TABLE users"}[db.Dialect()]
	_, err := db.Writer().ExecContext(ctx, stmt)
	return err
}

// randomIDs returns n ids of existing users, picked at random: MariaDB's
// AUTO_INCREMENT leaves gaps after a bulk INSERT ... SELECT.
func randomIDs(ctx context.Context, db *sqldb.DB, n int) []int64 {
	var lo, hi int64
	err := db.Read(ctx, func(q sqldb.Querier) error {
		return q.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM users").Scan(&lo, &hi)
	})
	if err != nil {
		log.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		err := db.Read(ctx, func(q sqldb.Querier) error {
			return q.QueryRowContext(ctx, "SELECT id FROM users WHERE id >= ? ORDER BY id LIMIT 1", lo+rand.Int64N(hi-lo+1)).Scan(&ids[i])
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	return ids
}
