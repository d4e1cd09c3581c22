package httpapi

import (
	"net/http"
	"time"

	"github.com/kura-dev/kura"
)

// notificationJSON is the JSON view of a notification. Its user is the
// route's and its key is the store's business, so neither is shown.
type notificationJSON struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// handleListNotifications serves GET /api/users/{id}/notifications, newest
// first, for the user themself or an admin (others get 403 whether or not
// the user exists), with the list parameters of GET /api/users. An admin
// asking for a user that does not exist gets 404, as PATCH and DELETE
// answer; the store is asked only when the page is empty.
func (s *Server) handleListNotifications(w http.ResponseWriter, r *http.Request) {
	viewer, id, ok := s.authorizeSelf(w, r, errForbiddenNotes)
	if !ok {
		return
	}
	opt, err := parseListOptions(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := withUser(r, viewer)
	list, err := s.cfg.Notifications.ListNotifications(ctx, id, opt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(list.Items) == 0 && viewer.ID != id {
		if _, err := s.users.FindUserByID(ctx, id); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeJSON(w, r, http.StatusOK, PageJSON(list, func(n *kura.Notification) notificationJSON {
		return notificationJSON{ID: n.ID, Kind: n.Kind, Message: n.Message, CreatedAt: n.CreatedAt.UTC()}
	}))
}
