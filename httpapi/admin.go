package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/kura-dev/kura"
)

var (
	errAdminOnly   = kura.Errorf(kura.EFORBIDDEN, "Only an admin may do this.")
	errAdminFields = kura.Errorf(kura.EFORBIDDEN, "Only an admin may change a role or disable an account.")
	errMixedFields = &kura.Error{Code: kura.EINVALID, Message: "Change role or disabled on their own, not with email, username, password or profile.",
		Fields: map[string]string{"role": "cannot be combined with email, username, password or profile"}}
)

// handleChangeAccount serves a PATCH /api/users/{id} that sets role or
// disabled: for admins only (403 for anyone else, the user themself
// included), on their own, through Config.Admin, which audits the change,
// ends a disabled user's sessions everywhere and refuses (409) to demote
// or disable the last active admin.
func (s *Server) handleChangeAccount(w http.ResponseWriter, r *http.Request, viewer *kura.User, id int64, in *updateUserRequest) {
	if viewer.Role != kura.RoleAdmin || s.cfg.Admin == nil {
		s.writeError(w, r, errAdminFields)
		return
	}
	if in.Email != nil || in.Username != nil || in.Password != nil || in.CurrentPassword != nil || in.Profile != nil {
		s.writeError(w, r, errMixedFields)
		return
	}
	u, err := s.cfg.Admin.ChangeAccount(withUser(r, viewer), kura.UserActor(viewer), id, kura.AccountChange{Role: in.Role, Disabled: in.Disabled})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, userView(viewer, u))
}

// authorizeAdmin authenticates the caller and checks they are an admin,
// answering the request itself (401, 403) when not.
func (s *Server) authorizeAdmin(w http.ResponseWriter, r *http.Request) (*kura.User, bool) {
	viewer, err := s.authenticate(r)
	if err == nil && viewer.Role != kura.RoleAdmin {
		err = errAdminOnly
	}
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return viewer, true
}

type endSessionsResponse struct {
	SessionsEnded int `json:"sessions_ended"`
}

// handleEndSessions serves DELETE /api/users/{id}/sessions: an admin ends
// every session of a user, on every instance; audited.
func (s *Server) handleEndSessions(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.writeError(w, r, errUserNotFound)
		return
	}
	n, err := s.cfg.Admin.EndSessions(withUser(r, viewer), kura.UserActor(viewer), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, endSessionsResponse{SessionsEnded: n})
}

// auditJSON is the JSON view of an audit entry; actor_id and target_id
// are null when there is none (the operator; an action on no user).
type auditJSON struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	ActorID  *int64          `json:"actor_id"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	TargetID *int64          `json:"target_id"`
	Detail   json.RawMessage `json:"detail"`
}

func auditView(e *kura.AuditEntry) auditJSON {
	v := auditJSON{ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Detail: json.RawMessage(e.Detail)}
	if e.ActorID != 0 {
		v.ActorID = &e.ActorID
	}
	if e.TargetID != 0 {
		v.TargetID = &e.TargetID
	}
	if !json.Valid(v.Detail) {
		v.Detail = json.RawMessage("{}")
	}
	return v
}

// handleListAudit serves GET /api/audit to admins: the audit log newest
// first, by keyset (?limit=&cursor=) or by page (?page=&per_page=).
func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	viewer, ok := s.authorizeAdmin(w, r)
	if !ok {
		return
	}
	opt, err := parseListOptions(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.cfg.Admin.ListAudit(withUser(r, viewer), opt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, PageJSON(list, auditView))
}
