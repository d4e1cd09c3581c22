package kura

import (
	"context"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a user may do beyond their own account.
type Role string

// Roles. A user changes only their own account; an admin changes any.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// Limits on user input, checked by Validate.
const (
	MaxEmailLen       = 254
	MinUsernameLen    = 3
	MaxUsernameLen    = 32
	MinPasswordLen    = 8
	MaxPasswordLen    = 128 // bytes; bounds the cost of hashing
	MaxLoginLen       = MaxEmailLen
	DefaultPageSize   = 20
	MaxPageSize       = 100
	DefaultSessionTTL = 7 * 24 * time.Hour
)

// User is an account. The password hash never leaves the store.
type User struct {
	ID        int64
	Email     string // stored lower-case; unique case-insensitively
	Username  string // stored as given; unique case-insensitively
	Role      Role
	Disabled  bool // set by an admin (AdminService): no login, no session, no password reset
	CreatedAt time.Time
	UpdatedAt time.Time // maintained by the database on every change

	// EmailVerifiedAt is when the user followed a link sent to Email
	// (see AccountService); zero means not verified. A change of Email
	// other than by a confirmed link makes it zero again.
	EmailVerifiedAt time.Time

	// Profile is the user's profile document, a JSON object (see
	// CheckProfile and the MaxProfile* limits), as the store read it: its
	// members in any order, "{}" for none. Nil when not read: the public
	// view (PublicUserFinder) and a session's user on the store's
	// uncached path leave it out.
	Profile json.RawMessage
}

// CanModify reports whether u may change or delete the user with the given id:
// their own account, or any account for an admin.
func (u *User) CanModify(id int64) bool {
	return u != nil && (u.ID == id || u.Role == RoleAdmin)
}

// NewUser is the input of UserService.CreateUser.
type NewUser struct {
	Email    string
	Username string
	Password string
	Role     Role // zero means RoleUser
}

// Normalize trims the input and lower-cases the email, in place.
func (n *NewUser) Normalize() {
	n.Email = NormalizeEmail(n.Email)
	n.Username = strings.TrimSpace(n.Username)
	if n.Role == "" {
		n.Role = RoleUser
	}
}

// Validate returns an EINVALID *Error naming every bad field, or nil.
func (n *NewUser) Validate() error {
	fields := map[string]string{}
	setIf(fields, "email", validateEmail(n.Email))
	setIf(fields, "username", validateUsername(n.Username))
	setIf(fields, "password", validatePassword(n.Password))
	if n.Role != "" && !n.Role.Valid() { // zero means RoleUser
		fields["role"] = "must be user or admin"
	}
	return invalid(fields)
}

// UserUpdate is the input of UserService.UpdateUser. Nil fields are left as
// they are.
type UserUpdate struct {
	Email    *string
	Username *string
	Password *string

	// CurrentPassword, if set, must be the user's password as stored, or
	// the update is refused (ErrWrongCurrentPassword; an empty one is
	// reported as missing). httpapi requires it of users changing their
	// own email or password (NeedsCurrentPassword).
	CurrentPassword *string
	// KeepSession is the digest (TokenDigest) of one session a password
	// change leaves alive: the caller's own, when users change their own
	// password. "" ends every session of the user.
	KeepSession string

	// Profile, if set, is a JSON Merge Patch (RFC 7396) of the profile, a
	// JSON object: each member replaces the stored one, null removes it,
	// objects merge. The store applies it to the stored document with the
	// row locked, so concurrent patches of different members all last,
	// and checks the result (limits, CheckProfile).
	Profile json.RawMessage
	// If, when set, makes the update happen only if the stored user's
	// ETag is one of its tags, checked with the row locked
	// (EPRECONDITION otherwise, and nothing changes).
	If Precondition
}

// NeedsCurrentPassword reports whether the update changes what proves
// or recovers the account, the email or the password, which users may
// change only by giving their current password.
func (u *UserUpdate) NeedsCurrentPassword() bool { return u.Email != nil || u.Password != nil }

// ErrWrongCurrentPassword returns the EINVALID error, naming
// "current_password", of an update whose CurrentPassword is missing
// (missing) or not the user's password.
func ErrWrongCurrentPassword(missing bool) *Error {
	msg := "is not your current password"
	if missing {
		msg = "is required to change your email or password"
	}
	return &Error{Code: EINVALID, Message: "Confirm the change with your current password.", Fields: map[string]string{"current_password": msg}}
}

// Normalize trims the input and lower-cases the email, in place.
func (u *UserUpdate) Normalize() {
	if u.Email != nil {
		*u.Email = NormalizeEmail(*u.Email)
	}
	if u.Username != nil {
		*u.Username = strings.TrimSpace(*u.Username)
	}
}

// Validate returns an EINVALID *Error naming every bad field, or nil.
func (u *UserUpdate) Validate() error {
	fields := map[string]string{}
	if u.Email != nil {
		setIf(fields, "email", validateEmail(*u.Email))
	}
	if u.Username != nil {
		setIf(fields, "username", validateUsername(*u.Username))
	}
	if u.Password != nil {
		setIf(fields, "password", validatePassword(*u.Password))
	}
	return invalid(fields)
}

// Empty reports whether the update changes nothing.
func (u *UserUpdate) Empty() bool {
	return u.Email == nil && u.Username == nil && u.Password == nil && u.Profile == nil
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// UserService manages accounts.
type UserService interface {
	// CreateUser registers a user with a hashed password.
	// Errors: EINVALID (Fields per bad field), ECONFLICT (Fields names
	// "email" or "username").
	CreateUser(ctx context.Context, in NewUser) (*User, error)

	// FindUserByID returns one user. Errors: ENOTFOUND.
	FindUserByID(ctx context.Context, id int64) (*User, error)

	// UpdateUser changes the given fields and returns the user as stored,
	// updated_at moved. A password change ends every session of the user
	// but upd.KeepSession. A CurrentPassword that is set is checked first,
	// after the fields are validated: right before verifying it, the store
	// calls GuardPasswordCheck with UserAccount(id), the account a login
	// to the user meets, and returns the guard's error, wrapped, without
	// verifying.
	// Errors: ENOTFOUND, EINVALID (ErrWrongCurrentPassword for a wrong
	// CurrentPassword), ECONFLICT, and the guard's (such as ERATELIMITED).
	UpdateUser(ctx context.Context, id int64, upd UserUpdate) (*User, error)

	// DeleteUser removes a user and ends their sessions. Errors: ENOTFOUND.
	DeleteUser(ctx context.Context, id int64) error

	// ListUsers returns users newest first, by keyset cursor or by page,
	// only those whose profile field opt.Filter names has its value when
	// it is set (ProfileFilters lists the fields).
	// Errors: EINVALID for a bad cursor, page or size; EBADREQUEST for a
	// filter by another field, naming the allowed ones.
	ListUsers(ctx context.Context, opt ListOptions) (*UserList, error)
}

// PublicUserFinder is what a UserService may also offer: the public view
// of a user (ID, Username and CreatedAt set, nothing else), read more
// cheaply than the whole user. httpapi uses it, when the service has it,
// to answer GET /api/users/{id} to an anonymous caller.
// Errors: ENOTFOUND, EUNAVAILABLE.
type PublicUserFinder interface {
	FindPublicUser(ctx context.Context, id int64) (*User, error)
}

func validateEmail(s string) string {
	switch {
	case s == "":
		return "is required"
	case len(s) > MaxEmailLen:
		return "must be at most 254 characters"
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "must be a valid email address"
	}
	return ""
}

func validateUsername(s string) string {
	n := utf8.RuneCountInString(s)
	switch {
	case s == "":
		return "is required"
	case n < MinUsernameLen || n > MaxUsernameLen:
		return "must be 3 to 32 characters"
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return "may contain only letters, digits, '_', '-' and '.'"
		}
	}
	return ""
}

func validatePassword(s string) string {
	switch {
	case s == "":
		return "is required"
	case utf8.RuneCountInString(s) < MinPasswordLen:
		return "must be at least 8 characters"
	case len(s) > MaxPasswordLen:
		return "must be at most 128 bytes"
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "must be valid UTF-8 without NUL characters"
	}
	return ""
}

func setIf(m map[string]string, field, msg string) {
	if msg != "" {
		m[field] = msg
	}
}

func invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: fields}
}
