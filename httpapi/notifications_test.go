package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

const notificationKeys = "created_at,id,kind,message"

// newNotificationsEnv returns an env whose fake store also serves the
// notifications route.
func newNotificationsEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(c *httpapi.Config) { c.Notifications = c.Users.(*fakeStore) })
}

// mustNotify stores a notification of the user in the fake store.
func (e *env) mustNotify(userID int64, key, message string) *kura.Notification {
	e.t.Helper()
	n := &kura.Notification{UserID: userID, Kind: "test", Key: key, Message: message}
	if created, err := e.store.CreateNotification(context.Background(), n); err != nil || !created {
		e.t.Fatalf("create notification %s: %v, %v", key, created, err)
	}
	return n
}

// notificationPage is a keyset or offset page of notifications.
type notificationPage struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"next_cursor"`
	Page       int              `json:"page"`
	PerPage    int              `json:"per_page"`
	Total      int64            `json:"total"`
}

func TestListNotifications(t *testing.T) {
	e := newNotificationsEnv(t)
	annID, annTok := e.mustUser("ann", false)
	bobID, bobTok := e.mustUser("bob", false)
	_, adminTok := e.mustUser("root", true)
	for i := 1; i <= 5; i++ {
		e.mustNotify(annID, fmt.Sprintf("ann-%d", i), fmt.Sprintf("Note %d <b>&</b>", i))
		if i == 3 {
			e.mustNotify(bobID, "bob-1", "Bob's note")
		}
	}
	ann := fmt.Sprintf("/api/users/%d/notifications", annID)

	for _, tt := range []struct{ name, token string }{{"Self", annTok}, {"Admin", adminTok}} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do("GET", ann, nil, tt.token)
			mustStatus(t, w, http.StatusOK)
			if got := keysOf(t, w); got != "items,next_cursor" {
				t.Errorf("keys = %s", got)
			}
			if !strings.Contains(w.Body.String(), `"next_cursor":null`) {
				t.Errorf("next_cursor is not null on the only page: %s", w.Body)
			}
			var body notificationPage
			mustDecode(t, w, &body)
			if len(body.Items) != 5 {
				t.Fatalf("%d items, want ann's 5: %s", len(body.Items), w.Body)
			}
			it := body.Items[0] // the newest
			if keys := strings.Join(sortedKeys(it), ","); keys != notificationKeys {
				t.Errorf("item keys = %s, want %s", keys, notificationKeys)
			}
			if it["id"] != 6.0 || it["kind"] != "test" || it["message"] != "Note 5 <b>&</b>" {
				t.Errorf("newest item = %v", it)
			}
			// RFC 3339 in UTC, whatever the store's zone.
			at, _ := it["created_at"].(string)
			if _, err := time.Parse(time.RFC3339Nano, at); err != nil || !strings.HasSuffix(at, "Z") {
				t.Errorf("created_at = %q (%v)", at, err)
			}
		})
	}
	t.Run("Keyset", func(t *testing.T) {
		var ids []float64
		cursor, pages := "", 0
		for {
			path := ann + "?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			w := e.do("GET", path, nil, annTok)
			mustStatus(t, w, http.StatusOK)
			var body notificationPage
			mustDecode(t, w, &body)
			for _, it := range body.Items {
				ids = append(ids, it["id"].(float64))
			}
			pages++
			if body.NextCursor == nil {
				break
			}
			cursor = *body.NextCursor
		}
		// Ids 1-3 and 5-6 are ann's; 4 is bob's.
		if fmt.Sprint(ids) != "[6 5 3 2 1]" || pages != 3 {
			t.Errorf("ids = %v over %d pages", ids, pages)
		}
	})
	t.Run("Offset", func(t *testing.T) {
		w := e.do("GET", ann+"?page=2&per_page=2", nil, adminTok)
		mustStatus(t, w, http.StatusOK)
		if got := keysOf(t, w); got != "items,page,per_page,total" {
			t.Errorf("keys = %s", got)
		}
		var body notificationPage
		mustDecode(t, w, &body)
		if len(body.Items) != 2 || body.Items[0]["id"] != 3.0 || body.Page != 2 || body.PerPage != 2 || body.Total != 5 {
			t.Errorf("body = %s", w.Body)
		}
	})
	t.Run("EmptyPageHasEmptyItems", func(t *testing.T) {
		w := e.do("GET", ann+"?page=9", nil, annTok)
		mustStatus(t, w, http.StatusOK)
		if !strings.Contains(w.Body.String(), `"items":[]`) {
			t.Errorf("body = %s", w.Body)
		}
		calID, calTok := e.mustUser("cal", false) // who has none
		w = e.do("GET", fmt.Sprintf("/api/users/%d/notifications", calID), nil, calTok)
		mustStatus(t, w, http.StatusOK)
		if got := w.Body.String(); got != `{"items":[],"next_cursor":null}`+"\n" {
			t.Errorf("body = %s", got)
		}
		// An admin asking for an existing user without notifications: 200, not 404.
		w = e.do("GET", fmt.Sprintf("/api/users/%d/notifications", calID), nil, adminTok)
		mustStatus(t, w, http.StatusOK)
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		mustError(t, e.do("GET", ann, nil, bobTok), http.StatusForbidden, "forbidden")
		// Another user's id that does not exist is 403 too: no probing.
		mustError(t, e.do("GET", "/api/users/999/notifications", nil, bobTok), http.StatusForbidden, "forbidden")
	})
	t.Run("AdminErrNotFound", func(t *testing.T) {
		mustError(t, e.do("GET", "/api/users/999/notifications", nil, adminTok), http.StatusNotFound, "not_found")
		mustError(t, e.do("GET", "/api/users/999/notifications?page=1", nil, adminTok), http.StatusNotFound, "not_found")
	})
	t.Run("ErrBadID", func(t *testing.T) {
		for _, id := range []string{"0", "-1", "abc", "me"} {
			mustError(t, e.do("GET", "/api/users/"+id+"/notifications", nil, annTok), http.StatusNotFound, "not_found")
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		mustError(t, e.do("GET", ann, nil, ""), http.StatusUnauthorized, "unauthorized")
		mustError(t, e.do("GET", ann, nil, "garbage"), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for query, field := range map[string]string{
			"per_page=0":           "per_page",
			"per_page=101":         "per_page",
			"limit=0":              "limit",
			"limit=101":            "limit",
			"limit=x":              "limit",
			"page=0":               "page",
			"page=-2":              "page",
			"cursor=garbage!!":     "cursor",
			"cursor=aWQ6MA":        "cursor", // "id:0"
			"cursor=":              "cursor",
			"page=1&cursor=aWQ6Mw": "cursor",
			"per_page=5&limit=5":   "limit",
		} {
			w := e.do("GET", ann+"?"+query, nil, annTok)
			if got := mustError(t, w, http.StatusUnprocessableEntity, "invalid"); got.Error.Fields[field] == "" {
				t.Errorf("%s: fields = %v, want %s", query, got.Error.Fields, field)
			}
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		w := e.do("POST", ann, `{}`, annTok)
		mustError(t, w, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := w.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow = %q", got)
		}
	})
}

func TestListNotifications_RouteNeedsService(t *testing.T) {
	e := newEnv(t) // no Config.Notifications
	id, tok := e.mustUser("ann", false)
	mustError(t, e.do("GET", fmt.Sprintf("/api/users/%d/notifications", id), nil, tok), http.StatusNotFound, "not_found")
}
