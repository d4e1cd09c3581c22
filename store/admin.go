package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/sqldb"
)

var _ kura.AdminService = (*Users)(nil)

// ChangeAccount sets a user's role and/or disabled state in one
// transaction, with an audit entry per field that changed. Disabling ends
// every session of the user in that transaction, and OnSessionsEnded
// learns of them after the commit. A change that demotes or disables the
// last active admin is refused (kura.ErrLastAdmin): see lockAdmins.
// Errors: EINVALID, ENOTFOUND, ECONFLICT, EUNAVAILABLE.
func (s *Users) ChangeAccount(ctx context.Context, by kura.Actor, id int64, c kura.AccountChange) (*kura.User, error) {
	if c.Empty() {
		return nil, kura.Errorf(kura.EINVALID, "Give role or disabled.")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	removes := c.Role != nil && *c.Role != kura.RoleAdmin || c.Disabled != nil && *c.Disabled
	var u *kura.User
	var ended []string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.targetOf(ctx, tx, id, removes)
		if err != nil {
			return err
		}
		if ended, err = s.applyChange(ctx, tx, by, cur, c); err != nil {
			return err
		}
		u, err = findUser(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("change account: %w", err)
	}
	s.sessionsEnded(ctx, ended)
	return u, nil
}

// applyChange writes c over cur and audits each field that changed; it
// returns the digests of the sessions a disabling ended.
func (s *Users) applyChange(ctx context.Context, tx *sqldb.Tx, by kura.Actor, cur *kura.User, c kura.AccountChange) ([]string, error) {
	if c.Role != nil && *c.Role != cur.Role {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET role = ? WHERE id = ?", string(*c.Role), cur.ID); err != nil {
			return nil, err
		}
		detail := map[string]any{"from": cur.Role, "to": *c.Role}
		if err := s.audit(ctx, tx, by, kura.AuditRoleChange, cur.ID, detail); err != nil {
			return nil, err
		}
	}
	if c.Disabled == nil || *c.Disabled == cur.Disabled {
		return nil, nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = ? WHERE id = ?", boolInt(*c.Disabled), cur.ID); err != nil {
		return nil, err
	}
	if !*c.Disabled {
		return nil, s.audit(ctx, tx, by, kura.AuditEnable, cur.ID, map[string]any{})
	}
	ended, err := s.endSessions(ctx, tx, cur.ID, "")
	if err != nil {
		return nil, err
	}
	return ended, s.audit(ctx, tx, by, kura.AuditDisable, cur.ID, map[string]any{"sessions_ended": len(ended)})
}

// DeleteAccount deletes a user as an admin or the operator, their
// sessions with them (ON DELETE CASCADE), if the user still matches p
// (checked with its row locked), and audits it. Deleting the last active
// admin is refused (kura.ErrLastAdmin).
// Errors: ENOTFOUND, EPRECONDITION, ECONFLICT, EUNAVAILABLE.
func (s *Users) DeleteAccount(ctx context.Context, by kura.Actor, id int64, p kura.Precondition) error {
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, err := s.targetOf(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if p.Set() {
			if cur, err = s.lockUser(ctx, tx, id); err != nil {
				return err
			}
			if err := p.Check(cur); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, qDeleteUser, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, kura.AuditDelete, id, map[string]any{"username": cur.Username, "role": cur.Role})
	})
	if err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

// EndSessions ends every session of a user, audited, and returns how many
// it ended; OnSessionsEnded learns of them after the commit.
// Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) EndSessions(ctx context.Context, by kura.Actor, id int64) (int, error) {
	var ended []string
	err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, err := findUser(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if ended, err = s.endSessions(ctx, tx, id, ""); err != nil {
			return err
		}
		return s.audit(ctx, tx, by, kura.AuditEndSessions, id, map[string]any{"sessions_ended": len(ended)})
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions: %w", err)
	}
	s.sessionsEnded(ctx, ended)
	return len(ended), nil
}

// Disabled reports whether the user's account is disabled, read from the
// primary: what a password reset, or any flow that starts from an address
// rather than a session, asks before it acts (kura.User.Disabled says the
// same of a user already read). Errors: ENOTFOUND, EUNAVAILABLE.
func (s *Users) Disabled(ctx context.Context, id int64) (bool, error) {
	u, err := s.FindUserByID(kura.WithFreshReads(ctx), id)
	if err != nil {
		return false, err
	}
	return u.Disabled, nil
}

// deleteUser deletes a user in tx, refusing the last active admin, and
// returns it as it was. Errors: ENOTFOUND, ECONFLICT.
func (s *Users) deleteUser(ctx context.Context, tx *sqldb.Tx, id int64) (*kura.User, error) {
	cur, err := s.targetOf(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, qDeleteUser, id); err != nil {
		return nil, err
	}
	return cur, nil
}

// targetOf reads the user a change is about in tx. For a change that may
// remove an admin (removes), it first locks the active admins (see
// lockAdmins) and refuses, with kura.ErrLastAdmin, when the user is an
// active admin and no other would be left. Errors: ENOTFOUND, ECONFLICT.
func (s *Users) targetOf(ctx context.Context, tx *sqldb.Tx, id int64, removes bool) (*kura.User, error) {
	var admins []int64
	if removes {
		var err error
		if admins, err = s.lockAdmins(ctx, tx); err != nil {
			return nil, err
		}
	}
	cur, err := findUser(ctx, tx, id)
	if err != nil || !removes || cur.Role != kura.RoleAdmin || cur.Disabled {
		return cur, err
	}
	for _, a := range admins {
		if a != id {
			return cur, nil // another active admin stays
		}
	}
	return nil, kura.ErrLastAdmin()
}

// lockAdmins returns the ids of the active admins (role admin, not
// disabled), locked until tx ends: on PostgreSQL and MariaDB by SELECT
// ... FOR UPDATE in id order (by the index on role; on MariaDB its
// next-key locks also hold back a concurrent promotion), so that of two
// changes each removing one of two admins the second waits for the first
// and then sees one admin left; on SQLite the transaction holds the one
// writer connection, so no other change runs meanwhile.
func (s *Users) lockAdmins(ctx context.Context, tx *sqldb.Tx) ([]int64, error) {
	q := qActiveAdmins
	if s.db.Dialect() != sqldb.SQLite {
		q += " FOR UPDATE"
	}
	return sqldb.QueryAll(ctx, s.db, tx, func(r sqldb.Scanner) (int64, error) {
		var id int64
		err := r.Scan(&id)
		return id, err
	}, q)
}

// audit writes one entry of the audit log in tx, stamped with the DB's
// clock; detail is encoded as JSON and must hold no secret.
func (s *Users) audit(ctx context.Context, tx *sqldb.Tx, by kura.Actor, action string, target int64, detail map[string]any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var actorID, targetID any
	if by.UserID != 0 {
		actorID = by.UserID
	}
	if target != 0 {
		targetID = target
	}
	_, err = tx.ExecContext(ctx, qAuditInsert, s.db.Timestamp(), actorID, by.Name, action, targetID, string(d))
	return err
}

// ListAudit returns the audit log newest first (by id, the primary key),
// by keyset cursor or by page. Errors: EINVALID, EUNAVAILABLE.
func (s *Users) ListAudit(ctx context.Context, opt kura.ListOptions) (*kura.AuditList, error) {
	p, err := sqldb.List(ctx, s.db, opt, auditNewestFirst)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return p, nil
}

// sessionsEnded tells OnSessionsEnded of the sessions a committed write
// ended.
func (s *Users) sessionsEnded(ctx context.Context, digests []string) {
	if len(digests) > 0 && s.OnSessionsEnded != nil {
		s.OnSessionsEnded(ctx, digests)
	}
}

const auditCols = "id, ts(created_at), actor_id, actor, action, target_id, detail"

func scanAudit(r sqldb.Scanner) (*kura.AuditEntry, error) {
	var e kura.AuditEntry
	var actorID, targetID *int64
	if err := r.Scan(&e.ID, sqldb.Time(&e.At), &actorID, &e.Actor, &e.Action, &targetID, &e.Detail); err != nil {
		return nil, err
	}
	if actorID != nil {
		e.ActorID = *actorID
	}
	if targetID != nil {
		e.TargetID = *targetID
	}
	return &e, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flagCol scans a 0/1 column (users.disabled) into a bool, whichever
// type the driver hands over: pgx's int2 does not scan into a bool.
type flagCol struct{ b *bool }

func (f flagCol) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		*f.b = x != 0
	case bool:
		*f.b = x
	case []byte:
		*f.b = string(x) != "0"
	case string:
		*f.b = x != "0"
	default:
		return fmt.Errorf("disabled: unexpected %T", v)
	}
	return nil
}

// RecordAudit writes one audit entry in a transaction of its own, for an
// action whose change is not a row of kura's (a link sent by mail).
// Errors: EUNAVAILABLE.
func (s *Users) RecordAudit(ctx context.Context, by kura.Actor, action string, target int64, detail map[string]any) error {
	return s.db.InTx(ctx, func(tx *sqldb.Tx) error { return s.audit(ctx, tx, by, action, target, detail) })
}
