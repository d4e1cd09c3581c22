package cached_test

import (
	"context"
	"fmt"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
	"github.com/kura-dev/kura/cache/cached"
)

// Example_users wraps a store's kura.UserService (here an in-memory one
// that counts its reads) so that reads by id come from the cache until a
// write through the decorator deletes the entry.
func Example_users() {
	ctx := context.Background()
	store := newMemUsers()
	userCache, err := cache.New[kura.User](cache.Config{Prefix: "kura:user:"}, nil)
	if err != nil {
		panic(err)
	}
	defer userCache.Close()
	users := cached.NewUserService(store, userCache, nil)

	ann, _ := users.CreateUser(ctx, kura.NewUser{Email: "ann@example.com", Username: "ann"})
	for range 3 {
		u, _ := users.FindUserByID(ctx, ann.ID)
		fmt.Println(u.Username)
	}
	fmt.Println("store reads:", store.finds.Load())

	name := "ann2"
	users.UpdateUser(ctx, ann.ID, kura.UserUpdate{Username: &name})
	u, _ := users.FindUserByID(ctx, ann.ID)
	fmt.Println(u.Username)
	fmt.Println("store reads:", store.finds.Load())
	// Output:
	// ann
	// ann
	// ann
	// store reads: 1
	// ann2
	// store reads: 2
}
