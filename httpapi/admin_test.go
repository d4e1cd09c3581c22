package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// newAdminEnv returns an env whose server takes the fake store as its
// Config.Admin.
func newAdminEnv(t *testing.T) *env {
	return newEnv(t, func(c *httpapi.Config) { c.Admin = c.Users.(kura.AdminService) })
}

func userPath(id int64) string { return "/api/users/" + strconv.FormatInt(id, 10) }

// TestAdmin_ChangeRole: an admin sets a user's role with PATCH; anyone
// else sending role gets 403, the user themself included; bad input (an
// unknown role, a wrong type, role mixed with profile fields) is refused
// and changes nothing.
func TestAdmin_ChangeRole(t *testing.T) {
	e := newAdminEnv(t)
	_, admin := e.mustUser("boss", true)
	id, tok := e.mustUser("ann", false)
	otherID, _ := e.mustUser("bob", false)

	t.Run("OK", func(t *testing.T) {
		w := e.do("PATCH", userPath(id), map[string]any{"role": "admin"}, admin)
		mustStatus(t, w, http.StatusOK)
		var u struct{ Role string }
		mustDecode(t, w, &u)
		if u.Role != "admin" {
			t.Fatalf("role = %q; want admin", u.Role)
		}
		w = e.do("PATCH", userPath(id), map[string]any{"role": "user"}, admin)
		mustStatus(t, w, http.StatusOK)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		mustError(t, e.do("PATCH", userPath(id), map[string]any{"role": "admin"}, tok), http.StatusForbidden, kura.EFORBIDDEN)
		mustError(t, e.do("PATCH", userPath(otherID), map[string]any{"disabled": true}, tok), http.StatusForbidden, kura.EFORBIDDEN)
		mustError(t, e.do("PATCH", userPath(id), map[string]any{"role": "admin"}, ""), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		er := mustError(t, e.do("PATCH", userPath(id), map[string]any{"role": "root"}, admin), http.StatusUnprocessableEntity, kura.EINVALID)
		if er.Error.Fields["role"] == "" {
			t.Fatalf("an unknown role must name role: %+v", er)
		}
		mustError(t, e.do("PATCH", userPath(id), `{"role": 5}`, admin), http.StatusBadRequest, kura.EBADREQUEST)
		mustError(t, e.do("PATCH", userPath(id), `{"disabled": "yes"}`, admin), http.StatusBadRequest, kura.EBADREQUEST)
		mustError(t, e.do("PATCH", userPath(id), map[string]any{"role": "admin", "email": "x@example.com"}, admin), http.StatusUnprocessableEntity, kura.EINVALID)
		mustError(t, e.do("PATCH", userPath(424242), map[string]any{"role": "admin"}, admin), http.StatusNotFound, kura.ENOTFOUND)
		u, _ := e.store.FindUserByID(t.Context(), id)
		if u.Role != kura.RoleUser || u.Email != "ann@example.com" {
			t.Fatalf("refused requests changed the user: %+v", u)
		}
	})
	t.Run("ErrNoAdminService", func(t *testing.T) {
		e := newEnv(t)
		_, admin := e.mustUser("boss", true)
		id := e.mustRegister("cid")
		mustError(t, e.do("PATCH", userPath(id), map[string]any{"role": "admin"}, admin), http.StatusForbidden, kura.EFORBIDDEN)
		mustError(t, e.do("GET", "/api/audit", nil, admin), http.StatusNotFound, kura.ENOTFOUND)
	})
}

// TestAdmin_Disable: a disabled user's token stops working at once, its
// login gets the answer of a wrong password, and it shows as disabled to
// admins; enabled again, it logs in.
func TestAdmin_Disable(t *testing.T) {
	e := newAdminEnv(t)
	_, admin := e.mustUser("boss", true)
	id, tok := e.mustUser("ann", false)

	w := e.do("PATCH", userPath(id), map[string]any{"disabled": true}, admin)
	mustStatus(t, w, http.StatusOK)
	var u struct{ Disabled bool }
	mustDecode(t, w, &u)
	if !u.Disabled {
		t.Fatalf("PATCH disabled: %s", w.Body)
	}
	mustError(t, e.do("GET", "/api/users/me", nil, tok), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	disabled := mustError(t, e.do("POST", "/api/auth/login", map[string]string{"login": "ann", "password": "correct horse"}, ""), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	wrong := mustError(t, e.do("POST", "/api/auth/login", map[string]string{"login": "ann", "password": "wrong horse"}, ""), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	if disabled.Error.Code != wrong.Error.Code || disabled.Error.Message != wrong.Error.Message {
		t.Fatalf("a disabled login answered %+v, a wrong password %+v; want the same", disabled, wrong)
	}
	mustStatus(t, e.do("PATCH", userPath(id), map[string]any{"disabled": false}, admin), http.StatusOK)
	e.mustLogin("ann")
}

// TestAdmin_LastAdmin: the last active admin cannot demote, disable or
// delete itself: 409 with the rule in the message; with a second admin it
// can.
func TestAdmin_LastAdmin(t *testing.T) {
	e := newAdminEnv(t)
	id, admin := e.mustUser("boss", true)
	for _, body := range []map[string]any{{"role": "user"}, {"disabled": true}} {
		er := mustError(t, e.do("PATCH", userPath(id), body, admin), http.StatusConflict, kura.ECONFLICT)
		if er.Error.Message != kura.LastAdminMessage {
			t.Fatalf("message %q", er.Error.Message)
		}
	}
	mustError(t, e.do("DELETE", userPath(id), nil, admin), http.StatusConflict, kura.ECONFLICT)
	otherID, _ := e.mustUser("deputy", false)
	mustStatus(t, e.do("PATCH", userPath(otherID), map[string]any{"role": "admin"}, admin), http.StatusOK)
	mustStatus(t, e.do("PATCH", userPath(id), map[string]any{"role": "user"}, admin), http.StatusOK)
}

// TestAdmin_EndSessionsAndAudit: an admin ends a user's sessions; the
// audit log lists every action newest first, pages by cursor, and is for
// admins only; an admin's deletion is audited.
func TestAdmin_EndSessionsAndAudit(t *testing.T) {
	e := newAdminEnv(t)
	adminID, admin := e.mustUser("boss", true)
	id, tok := e.mustUser("ann", false)
	e.mustLogin("ann")

	w := e.do("DELETE", userPath(id)+"/sessions", nil, admin)
	mustStatus(t, w, http.StatusOK)
	var ended struct {
		SessionsEnded int `json:"sessions_ended"`
	}
	mustDecode(t, w, &ended)
	if ended.SessionsEnded != 2 {
		t.Fatalf("sessions_ended = %d; want 2", ended.SessionsEnded)
	}
	mustError(t, e.do("GET", "/api/users/me", nil, tok), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	tok = e.mustLogin("ann")
	mustError(t, e.do("DELETE", userPath(adminID)+"/sessions", nil, tok), http.StatusForbidden, kura.EFORBIDDEN)
	mustError(t, e.do("DELETE", userPath(424242)+"/sessions", nil, admin), http.StatusNotFound, kura.ENOTFOUND)
	mustError(t, e.do("GET", "/api/audit", nil, tok), http.StatusForbidden, kura.EFORBIDDEN)
	mustError(t, e.do("GET", "/api/audit", nil, ""), http.StatusUnauthorized, kura.EUNAUTHORIZED)
	mustStatus(t, e.do("DELETE", userPath(id), nil, admin), http.StatusNoContent)

	type entry struct {
		ID       int64
		Actor    string
		ActorID  *int64 `json:"actor_id"`
		Action   string
		TargetID *int64 `json:"target_id"`
		Detail   map[string]any
	}
	var page struct {
		Items      []entry
		NextCursor *string `json:"next_cursor"`
	}
	w = e.do("GET", "/api/audit?limit=1", nil, admin)
	mustDecode(t, w, &page)
	if len(page.Items) != 1 || page.NextCursor == nil || page.Items[0].Action != kura.AuditDelete ||
		*page.Items[0].ActorID != adminID || page.Items[0].Actor != "boss" || *page.Items[0].TargetID != id {
		t.Fatalf("first page: %s", w.Body)
	}
	w = e.do("GET", "/api/audit?limit=1&cursor="+*page.NextCursor, nil, admin)
	mustDecode(t, w, &page)
	if len(page.Items) != 1 || page.NextCursor != nil || page.Items[0].Action != kura.AuditEndSessions || page.Items[0].Detail["sessions_ended"] != float64(2) {
		t.Fatalf("second page: %s", w.Body)
	}
	mustError(t, e.do("GET", "/api/audit?cursor=bogus", nil, admin), http.StatusUnprocessableEntity, kura.EINVALID)
}

// TestAdmin_DeleteIfMatch: an admin's deletion with a stale If-Match is
// 412 and deletes nothing, audits nothing; with the current ETag it
// deletes and audits.
func TestAdmin_DeleteIfMatch(t *testing.T) {
	e := newAdminEnv(t)
	_, admin := e.mustUser("boss", true)
	id, _ := e.mustUser("ann", false)
	tag := e.do("GET", userPath(id), nil, admin).Header().Get("ETag")
	mustStatus(t, e.do("PATCH", userPath(id), map[string]any{"username": "annie"}, admin), http.StatusOK)
	mustError(t, e.doIf("DELETE", userPath(id), "", admin, tag, "application/json"), http.StatusPreconditionFailed, kura.EPRECONDITION)
	if _, err := e.store.FindUserByID(t.Context(), id); err != nil || len(e.store.audit) != 0 {
		t.Fatalf("a stale deletion deleted (%v) or audited (%d entries)", err, len(e.store.audit))
	}
	tag = e.do("GET", userPath(id), nil, admin).Header().Get("ETag")
	mustStatus(t, e.doIf("DELETE", userPath(id), "", admin, tag, "application/json"), http.StatusNoContent)
	if len(e.store.audit) != 1 || e.store.audit[0].Action != kura.AuditDelete {
		t.Fatalf("audit: %+v", e.store.audit)
	}
}
