package kura

import (
	"encoding/base64"
	"strconv"
)

// MaxPage is the highest page number of offset paging: its offset,
// (MaxPage-1) times MaxPageSize, fits every engine's OFFSET with room to
// spare, and no list kura serves has that many pages.
const MaxPage = 1<<31 - 1

// ListOptions selects one page of a newest-first list. With Page > 0 the
// list is paged by offset (page/per_page, with a total); otherwise it is
// paged by keyset cursor (limit/cursor), which stays fast on deep pages and
// neither skips nor repeats rows while rows are inserted.
type ListOptions struct {
	Limit  int    // keyset page size; 0 means DefaultPageSize
	Cursor string // opaque; "" for the first page

	Page    int // 1-based; 0 selects keyset mode
	PerPage int // offset page size; 0 means DefaultPageSize

	// Filter, when its Field is set, keeps only the items whose Field
	// equals Value: for users, one of ProfileFilters, such as
	// "profile.city". A list that filters by nothing refuses one.
	Filter Filter
}

// Filter is an equality condition on one field of a list's items.
type Filter struct {
	Field string
	Value string
}

// Normalize fills defaults and validates sizes and the page number. It
// returns an EINVALID *Error naming the bad parameter.
func (o *ListOptions) Normalize() error {
	fields := map[string]string{}
	if o.Limit == 0 {
		o.Limit = DefaultPageSize
	}
	if o.PerPage == 0 {
		o.PerPage = DefaultPageSize
	}
	if o.Limit < 1 || o.Limit > MaxPageSize {
		fields["limit"] = "must be between 1 and 100"
	}
	if o.PerPage < 1 || o.PerPage > MaxPageSize {
		fields["per_page"] = "must be between 1 and 100"
	}
	if o.Page < 0 || o.Page > MaxPage {
		fields["page"] = "must be between 1 and " + strconv.Itoa(MaxPage)
	}
	if o.Page > 0 && o.Cursor != "" {
		fields["cursor"] = "cannot be combined with page"
	}
	return invalid(fields)
}

// Page is one page of a newest-first list of T, in the mode its
// ListOptions chose.
type Page[T any] struct {
	Items []T

	// Keyset mode: the cursor of the next page, "" on the last page.
	NextCursor string

	// Offset mode: the page, its size and the total count of items.
	Page    int
	PerPage int
	Total   int64
}

// UserList is one page of users.
type UserList = Page[*User]

// EncodeCursor returns the opaque cursor for a list that continues after
// (below) the given id.
func EncodeCursor(afterID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + strconv.FormatInt(afterID, 10)))
}

// DecodeCursor parses a cursor made by EncodeCursor. It returns an EINVALID
// *Error for anything else.
func DecodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) > 3 && string(b[:3]) == "id:" {
		if id, err := strconv.ParseInt(string(b[3:]), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, FieldError(EINVALID, "cursor", "is not a valid cursor")
}
