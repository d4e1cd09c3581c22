package kura

import (
	"context"
	"time"
)

// Actor is who performs an administrative action, as the audit log
// records it: an admin signed in to the API (UserActor) or the operator
// at a shell (OperatorActor).
type Actor struct {
	UserID int64  // the admin's id; 0 for the operator
	Name   string // the admin's username, or "operator:<OS user>"
}

// UserActor returns the actor of an admin's request.
func UserActor(u *User) Actor { return Actor{UserID: u.ID, Name: u.Username} }

// OperatorActor returns the actor of a command run at a shell by the OS
// user osUser ("" when unknown).
func OperatorActor(osUser string) Actor {
	if osUser == "" {
		osUser = "unknown"
	}
	return Actor{Name: "operator:" + osUser}
}

// AccountChange is the input of AdminService.ChangeAccount. Nil fields
// are left as they are.
type AccountChange struct {
	Role     *Role
	Disabled *bool
}

// Empty reports whether the change changes nothing.
func (c *AccountChange) Empty() bool { return c.Role == nil && c.Disabled == nil }

// Validate returns an EINVALID *Error naming "role" when it is not a
// known role, or nil.
func (c *AccountChange) Validate() error {
	if c.Role != nil && !c.Role.Valid() {
		return invalid(map[string]string{"role": "must be user or admin"})
	}
	return nil
}

// The actions of the audit log.
const (
	AuditRoleChange  = "user.role"         // detail {"from":…,"to":…}
	AuditDisable     = "user.disable"      // detail {"sessions_ended":n}
	AuditEnable      = "user.enable"       // detail {}
	AuditDelete      = "user.delete"       // detail {"username":…,"role":…}
	AuditEndSessions = "user.sessions_end" // detail {"sessions_ended":n}
	AuditSendReset   = "user.send_reset"   // detail {}: a reset link queued by the operator
)

// AuditEntry is one administrative action: who did what to whom, when.
// It never holds a secret.
type AuditEntry struct {
	ID       int64
	At       time.Time
	ActorID  int64  // the admin's id; 0 for the operator
	Actor    string // the admin's username then, or "operator:<OS user>"
	Action   string // one of the Audit* constants
	TargetID int64  // the user acted on; 0 for none
	Detail   string // a small JSON object
}

// AuditList is one page of the audit log, newest first.
type AuditList = Page[*AuditEntry]

// LastAdminMessage is the message of the ECONFLICT error of a change that
// would leave no active admin.
const LastAdminMessage = "This is the last active admin: promote another user to admin before demoting, disabling or deleting it."

// ErrLastAdmin returns the ECONFLICT error of a change that would leave
// no active admin (an admin that is not disabled).
func ErrLastAdmin() *Error { return &Error{Code: ECONFLICT, Message: LastAdminMessage} }

// AdminService is account management for admins and the operator. Every
// method that changes something writes an AuditEntry in the change's own
// transaction, and refuses (ErrLastAdmin) a change that would leave no
// active admin, counted under a lock in that transaction so that two
// concurrent changes cannot both pass.
type AdminService interface {
	// ChangeAccount sets a user's role and/or disabled state and returns
	// the user as stored. Disabling ends every session of the user, in the
	// same transaction. A field already at its value is no change and is
	// not audited. Errors: EINVALID (an unknown role, an empty change),
	// ENOTFOUND, ECONFLICT (ErrLastAdmin), EUNAVAILABLE.
	ChangeAccount(ctx context.Context, by Actor, id int64, c AccountChange) (*User, error)

	// DeleteAccount deletes a user, their sessions with them, if the user
	// still matches p (checked with the row locked; the zero p is no
	// condition). Errors: ENOTFOUND, EPRECONDITION, ECONFLICT
	// (ErrLastAdmin), EUNAVAILABLE.
	DeleteAccount(ctx context.Context, by Actor, id int64, p Precondition) error

	// EndSessions ends every session of a user and returns how many it
	// ended. Errors: ENOTFOUND, EUNAVAILABLE.
	EndSessions(ctx context.Context, by Actor, id int64) (int, error)

	// ListAudit returns the audit log newest first, by keyset cursor or by
	// page. Errors: EINVALID for a bad cursor, page or size, EUNAVAILABLE.
	ListAudit(ctx context.Context, opt ListOptions) (*AuditList, error)
}
