package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kura-dev/kura"
)

// pathID returns the positive numeric {id} of the route, or false.
func pathID(r *http.Request) (int64, bool) {
	id, err := PathID(r, "id", "User")
	return id, err == nil
}

type createUserRequest struct {
	Email    string `json:"email"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleCreateUser serves POST /api/users: registration, limited per
// client address whatever the request carries (a token, valid or not,
// changes nothing).
func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	if err := s.limit(r.Context(), "anon-write:"+s.ClientAddr(r), s.limits.AnonWrite); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in createUserRequest
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.users.CreateUser(r.Context(), kura.NewUser{
		Email: in.Email, Username: in.Username, Password: in.Password, Role: kura.RoleUser,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/users/"+strconv.FormatInt(u.ID, 10))
	setETag(w, u)
	s.writeJSON(w, r, http.StatusCreated, userJSON{u: u, private: true})
}

// handleMe serves GET /api/users/me.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	u, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setETag(w, u)
	s.writeJSON(w, r, http.StatusOK, userJSON{u: u, private: true})
}

// handleGetUser serves GET /api/users/{id}: a public view for anyone, the
// private view for the user themself and admins. An anonymous caller
// counts against its address's RateLimits.AnonRead.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, errUserNotFound)
		return
	}
	viewer, err := s.optionalUser(r)
	if err == nil && viewer == nil {
		err = s.limitAnon(r)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var u *kura.User
	if s.public != nil && viewer == nil {
		u, err = s.public.FindPublicUser(r.Context(), id) // only what the public view shows
	} else {
		u, err = s.users.FindUserByID(withUser(r, viewer), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	v := userView(viewer, u)
	if !v.private {
		w.Header()["Cache-Control"] = noCache
	} else {
		setETag(w, u) // the public view has no updated_at to derive one from
	}
	writeUser(w, http.StatusOK, v)
}

type updateUserRequest struct {
	Email           *string `json:"email"`
	Username        *string `json:"username"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`

	Role     *kura.Role `json:"role"`     // admins only (see handleChangeAccount)
	Disabled *bool      `json:"disabled"` // admins only
	// Profile is a JSON Merge Patch (RFC 7396) of the profile.
	Profile json.RawMessage `json:"profile"`
}

// handleUpdateUser serves PATCH /api/users/{id}, for the user themself or
// an admin. Others get 403 whether or not the user exists. Users changing
// their own email or password confirm it with current_password (422
// naming it when missing or wrong), and a new password ends their other
// sessions, keeping the one that made the change. A current_password
// given, needed or not, is checked by the store through the same guard as
// a login to the account (RateLimits.LoginFailures): the same allowance,
// wait and 429. An admin changing another user needs no password; the
// change is logged. With the account flows on (Config.Accounts), users
// changing their own email get 202: the other fields are changed, and the
// email is when the link sent to the new address is followed
// (POST /api/auth/email-change/confirm); an admin's change of another
// user's email is immediate.
//
// The body is the same object whether sent as application/json or as
// application/merge-patch+json: members left out are left as they are,
// and profile is a merge patch of the profile document (a member set to
// null is removed, objects merge; the profile itself cannot be null).
// With If-Match the update happens only if the user's ETag is still one
// of its tags (412 otherwise, nothing changed); a malformed If-Match is
// 400. The answer carries the new ETag.
func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	viewer, id, ok := s.authorizeSelf(w, r, errForbidden)
	if !ok {
		return
	}
	cond, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in updateUserRequest
	if err := readJSON(w, r, s.cfg.MaxBodyBytes, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	upd := kura.UserUpdate{Email: in.Email, Username: in.Username, Password: in.Password,
		CurrentPassword: in.CurrentPassword, Profile: in.Profile, If: cond}
	if in.Role != nil || in.Disabled != nil {
		s.handleChangeAccount(w, r, viewer, id, &in)
		return
	}
	if upd.Empty() {
		s.writeError(w, r, kura.Errorf(kura.EINVALID, "Give at least one of email, username, password and profile."))
		return
	}
	self := viewer.ID == id
	s.reauthenticate(r, self, &upd)
	newEmail, err := s.confirmedEmail(self, &upd)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := withPasswordGuard(withUser(r, viewer), s.passwordGuard(r))
	u, err := s.users.UpdateUser(ctx, id, upd)
	if err == nil && newEmail != "" {
		err = s.cfg.Accounts.RequestEmailChange(ctx, id, newEmail)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if newEmail != "" {
		setETag(w, u)
		s.writeJSON(w, r, http.StatusAccepted, userView(viewer, u))
		return
	}
	if !self {
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "admin changed a user",
			slog.Int64("admin_id", viewer.ID), slog.Int64("user_id", id),
			slog.String("fields", changedFields(&upd)), slog.String("request_id", RequestID(r.Context())))
	}
	setETag(w, u)
	s.writeJSON(w, r, http.StatusOK, userView(viewer, u))
}

// confirmedEmail takes out of upd the email that users change on their
// own account when the account flows are on (Config.Accounts): it is
// validated here, before anything changes, and changed only when the link
// sent to it is followed. It returns "" when the email, if any, is
// changed at once: by an admin for another user, or without the flows.
func (s *Server) confirmedEmail(self bool, upd *kura.UserUpdate) (string, error) {
	if !self || s.cfg.Accounts == nil || upd.Email == nil {
		return "", nil
	}
	e := kura.NormalizeEmail(*upd.Email)
	check := kura.UserUpdate{Email: &e}
	if err := check.Validate(); err != nil {
		return "", err
	}
	upd.Email = nil
	return e, nil
}

// reauthenticate prepares the update of users changing their own account:
// an email or password change needs current_password, which the store
// checks through the password guard, and keeps the caller's session. An
// admin changing another user gives none: CurrentPassword is dropped.
func (s *Server) reauthenticate(r *http.Request, self bool, upd *kura.UserUpdate) {
	if !self {
		upd.CurrentPassword = nil
		return
	}
	token, _, _ := bearerToken(r)
	upd.KeepSession = sessionDigest(token)
	if upd.NeedsCurrentPassword() && upd.CurrentPassword == nil {
		upd.CurrentPassword = new(string) // empty: the store reports it missing
	}
}

// changedFields names the fields an update changes, never their values.
func changedFields(upd *kura.UserUpdate) string {
	var names []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"email", upd.Email != nil}, {"username", upd.Username != nil}, {"password", upd.Password != nil}, {"profile", upd.Profile != nil}} {
		if f.set {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ",")
}

// handleDeleteUser serves DELETE /api/users/{id}, for the user themself or
// an admin; with If-Match, only if the user's ETag is still one of its
// tags (412 otherwise, nothing deleted). An admin's deletion is audited
// (Config.Admin). Deleting the last active admin is 409 conflict.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	viewer, id, ok := s.authorizeSelf(w, r, errForbidden)
	if !ok {
		return
	}
	cond, err := ifMatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if viewer.Role == kura.RoleAdmin && s.cfg.Admin != nil {
		err = s.cfg.Admin.DeleteAccount(withUser(r, viewer), kura.UserActor(viewer), id, cond) // audited
	} else {
		err = s.deleteUserIf(withUser(r, viewer), id, cond)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authorizeSelf authenticates the caller and checks they are the route's
// user or an admin (kura.User.CanModify), answering the request itself when
// not: 401, 404 for an {id} that is not one, and forbidden for anyone else,
// whether or not the user exists.
func (s *Server) authorizeSelf(w http.ResponseWriter, r *http.Request, forbidden error) (*kura.User, int64, bool) {
	viewer, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, 0, false
	}
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, errUserNotFound)
		return nil, 0, false
	}
	if !viewer.CanModify(id) {
		s.writeError(w, r, forbidden)
		return nil, 0, false
	}
	return viewer, id, true
}

// keysetList is the body of a keyset page of T. NextCursor is null on the
// last page.
type keysetList[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// offsetList is the body of an offset page of T.
type offsetList[T any] struct {
	Items   []T   `json:"items"`
	Page    int   `json:"page"`
	PerPage int   `json:"per_page"`
	Total   int64 `json:"total"`
}

// handleListUsers serves GET /api/users, newest first: by keyset with
// ?limit=&cursor=, by offset with ?page=&per_page=; an admin may filter by
// one indexed profile field, ?profile.city=... (see profileFilter).
func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	viewer, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opt, err := parseListOptions(r.URL.Query())
	if err == nil {
		opt.Filter, err = profileFilter(r.URL.Query(), viewer)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.users.ListUsers(withUser(r, viewer), opt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, PageJSON(list, func(u *kura.User) userJSON { return userView(viewer, u) }))
}

// profileFilter reads the one ?profile.<field>= parameter the user list
// takes: the profile is private, so only an admin may filter by it (403
// otherwise). The store refuses a field it has no index for (400 naming
// the allowed ones, kura.ProfileFilters). Errors: EFORBIDDEN, EBADREQUEST
// for more than one.
func profileFilter(q url.Values, viewer *kura.User) (kura.Filter, error) {
	var f kura.Filter
	for name, vals := range q {
		if !strings.HasPrefix(name, "profile.") {
			continue
		}
		if f.Field != "" || len(vals) != 1 {
			return f, kura.FieldError(kura.EBADREQUEST, "profile", "Filter by one profile field, given once.")
		}
		f = kura.Filter{Field: name, Value: vals[0]}
	}
	if f.Field != "" && viewer.Role != kura.RoleAdmin {
		return kura.Filter{}, kura.Errorf(kura.EFORBIDDEN, "Only admins can filter users by their profile.")
	}
	return f, nil
}

// parseListOptions reads the list parameters. page or per_page selects
// offset mode (page defaults to 1), and then limit and cursor are refused.
// Errors: EINVALID naming each bad parameter.
func parseListOptions(q url.Values) (kura.ListOptions, error) {
	var opt kura.ListOptions
	fields := map[string]string{}
	sizeParam(q, "limit", &opt.Limit, fields)
	sizeParam(q, "per_page", &opt.PerPage, fields)
	if q.Has("page") {
		n, err := strconv.Atoi(q.Get("page"))
		if err != nil || n < 1 || n > kura.MaxPage {
			fields["page"] = "must be a whole number from 1 to " + strconv.Itoa(kura.MaxPage)
		}
		opt.Page = n
	}
	opt.Cursor = q.Get("cursor")
	if opt.Cursor != "" {
		if _, err := kura.DecodeCursor(opt.Cursor); err != nil {
			fields["cursor"] = "is not a valid cursor"
		}
	} else if q.Has("cursor") {
		fields["cursor"] = "must not be empty"
	}
	if q.Has("page") || q.Has("per_page") {
		if opt.Page == 0 {
			opt.Page = 1
		}
		for _, p := range []string{"limit", "cursor"} {
			if q.Has(p) {
				fields[p] = "cannot be combined with page or per_page"
			}
		}
	}
	if len(fields) > 0 {
		return opt, &kura.Error{Code: kura.EINVALID, Message: "Some query parameters are invalid.", Fields: fields}
	}
	return opt, opt.Normalize()
}

// sizeParam parses a page size parameter, when present, into *dst.
func sizeParam(q url.Values, name string, dst *int, fields map[string]string) {
	if !q.Has(name) {
		return
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < 1 || n > kura.MaxPageSize {
		fields[name] = "must be a whole number from 1 to 100"
		return
	}
	*dst = n
}
