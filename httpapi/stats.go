package httpapi

import (
	"net/http"
	"time"

	"github.com/kura-dev/kura"
)

// statsJSON is the body of GET /api/stats.
type statsJSON struct {
	Users          int64     `json:"users"`
	NewUsers24h    int64     `json:"new_users_24h"`
	NewUsers7d     int64     `json:"new_users_7d"`
	ActiveSessions int64     `json:"active_sessions"`
	ComputedAt     time.Time `json:"computed_at"`
}

// errForbiddenStats answers GET /api/stats to a caller who is not an admin.
var errForbiddenStats = kura.Errorf(kura.EFORBIDDEN, "Only an admin may read the stats.")

// handleStats serves GET /api/stats, for admins only: every figure in it
// (how many accounts, how fast they come, how many sessions are alive) is
// the operator's, and tells another user, or whoever holds their token,
// how big and how busy the service is. 401 without a token, 403 for a
// user who is not an admin.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	u, err := s.authenticate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.Role != kura.RoleAdmin {
		s.writeError(w, r, errForbiddenStats)
		return
	}
	st, err := s.cfg.Stats.Stats(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, &statsJSON{
		Users: st.Users, NewUsers24h: st.NewUsers24h, NewUsers7d: st.NewUsers7d,
		ActiveSessions: st.ActiveSessions, ComputedAt: st.ComputedAt.UTC(),
	})
}
