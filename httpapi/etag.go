package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/kura-dev/kura"
)

// errBadIfMatch answers an If-Match header that is not * or a list of
// entity tags.
var errBadIfMatch = &kura.Error{Code: kura.EBADREQUEST,
	Message: `If-Match must be * or a comma-separated list of quoted entity tags, such as "3f2a9c01d4e5b6a7".`,
	Fields:  map[string]string{"If-Match": "is not * or a list of quoted entity tags"}}

// ifMatch parses the request's If-Match headers (RFC 9110, 13.1.1) into
// the precondition of a write. No header, or *, is no condition: * is
// true whenever the user exists, and a PATCH or DELETE of a user that
// does not exist answers 404 whatever its If-Match, * or tags. That is
// RFC 9110, 13.2.1: "A server MUST ignore all received preconditions if
// its response to the same request without those conditions, prior to
// processing the request content, would have been a status code other
// than a 2xx (Successful) or 412 (Precondition Failed)", and without
// them the answer is 404. (13.1.1's "*" being false with no current
// representation, so 412, is what a PUT that would create the resource
// meets; these routes create nothing.) A weak tag (W/"...") is kept as
// it is and so never matches: If-Match compares strongly.
// Errors: EBADREQUEST for anything else.
func ifMatch(r *http.Request) (kura.Precondition, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return kura.Precondition{}, nil
	}
	var tags []string
	star := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.Trim(part, " \t")
			switch {
			case part == "":
				continue // empty list elements are allowed
			case part == "*":
				star = true
			case validEntityTag(part):
				tags = append(tags, part)
			default:
				return kura.Precondition{}, errBadIfMatch
			}
		}
	}
	if star && len(tags) > 0 || !star && len(tags) == 0 || len(tags) > 32 {
		return kura.Precondition{}, errBadIfMatch
	}
	return kura.Precondition{Tags: tags}, nil
}

// validEntityTag reports whether s is [W/]"etagc*", etagc being any
// visible character but the double quote, or obs-text.
func validEntityTag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c == '"' || c < 0x21 || c == 0x7f {
			return false
		}
	}
	return true
}

// setETag sets the ETag header of a response carrying u's private view:
// the tag the store derives from the row (kura.User.ETag).
func setETag(w http.ResponseWriter, u *kura.User) {
	w.Header()["Etag"] = []string{u.ETag()}
}

// deleteUserIf deletes the user under p: through the service's
// conditional deletion when it has one (kura.ConditionalUserDeleter,
// checked with the row locked), else by reading the user, comparing and
// deleting, which a concurrent write can slip between.
func (s *Server) deleteUserIf(ctx context.Context, id int64, p kura.Precondition) error {
	if !p.Set() {
		return s.users.DeleteUser(ctx, id)
	}
	if d, ok := s.users.(kura.ConditionalUserDeleter); ok {
		return d.DeleteUserIf(ctx, id, p)
	}
	u, err := s.users.FindUserByID(kura.WithFreshReads(ctx), id)
	if err != nil {
		return err
	}
	if err := p.Check(u); err != nil {
		return err
	}
	return s.users.DeleteUser(ctx, id)
}
