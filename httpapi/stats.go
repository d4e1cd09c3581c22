package httpapi

import (
	"net/http"
	"time"
)

// statsJSON is the body of GET /api/stats.
type statsJSON struct {
	Users          int64     `json:"users"`
	NewUsers24h    int64     `json:"new_users_24h"`
	NewUsers7d     int64     `json:"new_users_7d"`
	ActiveSessions int64     `json:"active_sessions"`
	ComputedAt     time.Time `json:"computed_at"`
}

// handleStats serves GET /api/stats, for any authenticated caller.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r); err != nil {
		s.writeError(w, r, err)
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
