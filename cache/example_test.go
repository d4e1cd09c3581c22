package cache_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

// Product is the value cached in these examples.
type Product struct {
	ID    int
	Name  string
	Price int
}

// productDB stands in for a database table; it counts its reads.
type productDB struct {
	rows  map[int]Product
	reads int
}

// FindProduct returns a product, or kura's not-found error, the way a
// store's find method does.
func (db *productDB) FindProduct(_ context.Context, id int) (*Product, error) {
	db.reads++
	p, ok := db.rows[id]
	if !ok {
		return nil, kura.Errorf(kura.ENOTFOUND, "Product not found.")
	}
	return &p, nil
}

// Example reads through a cache, writes, and deletes what the write
// changed, so that the next read loads the new row.
func Example() {
	ctx := context.Background()
	db := &productDB{rows: map[int]Product{1: {ID: 1, Name: "tea", Price: 4}}}

	// One cache per kind of value. The zero Config is in-process only;
	// set RedisURL to share it between instances.
	products, err := cache.New[Product](cache.Config{TTL: time.Minute, Prefix: "shop:product:"}, nil)
	if err != nil {
		panic(err)
	}
	defer products.Close()

	// The loader is called on a miss; it returns the value, not a pointer.
	find := func(id int) (Product, error) {
		return products.GetOrLoad(ctx, strconv.Itoa(id), func(ctx context.Context) (Product, error) {
			p, err := db.FindProduct(ctx, id)
			if err != nil {
				return Product{}, err
			}
			return *p, nil
		})
	}

	p, _ := find(1)
	fmt.Println(p.Name, p.Price)
	p, _ = find(1) // from the cache
	fmt.Println(p.Name, p.Price, "reads:", db.reads)

	// A write, then the Delete of what it changed, before answering it.
	db.rows[1] = Product{ID: 1, Name: "tea", Price: 5}
	if err := products.Delete(ctx, "1"); err != nil {
		fmt.Println("invalidation incomplete:", err) // the write stands; log it
	}
	p, _ = find(1)
	fmt.Println(p.Name, p.Price, "reads:", db.reads)
	// Output:
	// tea 4
	// tea 4 reads: 1
	// tea 5 reads: 2
}

// Example_notFound shows that a missing row is remembered for
// Config.NotFoundTTL, so that asking again for it does not reach the
// database.
func Example_notFound() {
	ctx := context.Background()
	db := &productDB{rows: map[int]Product{}}
	products, err := cache.New[Product](cache.Config{NotFoundTTL: 5 * time.Second}, nil)
	if err != nil {
		panic(err)
	}
	defer products.Close()

	load := func(ctx context.Context) (Product, error) {
		p, err := db.FindProduct(ctx, 9)
		if err != nil {
			return Product{}, err
		}
		return *p, nil
	}
	for range 3 {
		_, err := products.GetOrLoad(ctx, "9", load)
		fmt.Println(kura.ErrorCode(err), kura.ErrorMessage(err))
	}
	fmt.Println("reads:", db.reads)
	// Output:
	// not_found Product not found.
	// not_found Product not found.
	// not_found Product not found.
	// reads: 1
}

// Example_outsideKura uses the cache outside kura: a loader over
// database/sql reports a missing row with sql.ErrNoRows, which IsNotFound
// and NotFoundError teach the cache to remember.
func Example_outsideKura() {
	ctx := context.Background()
	names, err := cache.New[string](cache.Config{
		IsNotFound:    func(err error) bool { return errors.Is(err, sql.ErrNoRows) },
		NotFoundError: func(string) error { return sql.ErrNoRows },
	}, nil)
	if err != nil {
		panic(err)
	}
	defer names.Close()

	queries := 0
	load := func(context.Context) (string, error) { queries++; return "", sql.ErrNoRows }
	for range 2 {
		_, err := names.GetOrLoad(ctx, "ann", load)
		fmt.Println(err)
	}
	fmt.Println("queries:", queries)
	// Output:
	// sql: no rows in result set
	// sql: no rows in result set
	// queries: 1
}

// ExampleConfig_Validate checks a configuration before use, as a command
// line does to report a bad setting; New does the same.
func ExampleConfig_Validate() {
	cfg := cache.Config{TTL: -time.Second, RedisURL: "redis://127.0.0.1:6379/0"}
	fmt.Println(cfg.Validate())

	cfg = cache.Config{Size: 500}.WithDefaults()
	fmt.Println(cfg.Validate(), cfg.TTL, cfg.Size, cfg.Prefix)
	// Output:
	// cache: TTL must be a positive duration, or zero for the default; got -1s
	// <nil> 5m0s 500 cache:
}

// ExampleCache_Stats reads the counters a metrics endpoint would export.
func ExampleCache_Stats() {
	ctx := context.Background()
	c, err := cache.New[string](cache.Config{}, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	load := func(context.Context) (string, error) { return "v", nil }
	for range 3 {
		c.GetOrLoad(ctx, "k", load)
	}
	s := c.Stats()
	fmt.Println("hits:", s.LocalHits, "misses:", s.LocalMisses, "loads:", s.Loads, "redis up:", s.RedisUp)
	// Output:
	// hits: 2 misses: 1 loads: 1 redis up: false
}
