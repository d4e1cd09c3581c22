package kura_test

import (
	"errors"
	"fmt"

	"github.com/kura-dev/kura"
)

// ExampleError shows the one error type every layer speaks: a code that
// picks the HTTP status, a message safe to show, fields, and a cause kept
// for the logs only.
func ExampleError() {
	cause := errors.New(`duplicate key value violates unique constraint "notes_user_title_key"`)
	err := fmt.Errorf("create note: %w", &kura.Error{
		Code:    kura.ECONFLICT,
		Message: "This title is already taken.",
		Fields:  map[string]string{"title": "is already taken"},
		Err:     cause,
	})
	fmt.Println(kura.ErrorCode(err))
	fmt.Println(kura.ErrorMessage(err))
	fmt.Println(kura.ErrorFields(err))
	fmt.Println(errors.Is(err, cause))

	// Anything that is not a *kura.Error is internal, and says nothing.
	other := errors.New("connection reset by peer")
	fmt.Println(kura.ErrorCode(other), kura.ErrorMessage(other))
	// Output:
	// conflict
	// This title is already taken.
	// map[title:is already taken]
	// true
	// internal Internal error.
}

// ExampleListOptions shows the two ways to page a list.
func ExampleListOptions() {
	keyset := kura.ListOptions{Limit: 2, Cursor: kura.EncodeCursor(42)}
	if err := keyset.Normalize(); err != nil {
		fmt.Println(err)
	}
	after, _ := kura.DecodeCursor(keyset.Cursor)
	fmt.Println("keyset: the 2 newest rows with id below", after)

	offset := kura.ListOptions{Page: 3}
	_ = offset.Normalize()
	fmt.Println("offset: page", offset.Page, "of", offset.PerPage)

	bad := kura.ListOptions{Limit: 500}
	fmt.Println(kura.ErrorFields(bad.Normalize()))
	// Output:
	// keyset: the 2 newest rows with id below 42
	// offset: page 3 of 20
	// map[limit:must be between 1 and 100]
}
