package notes

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/sqldb"
)

// Routes mounts the notes API on kura's server, behind its middleware
// (request id, access log, panic recovery, metrics hook), its bearer
// authentication and its error shape:
//
//	POST   /api/notes               {title, body, tags, metadata} -> 201 note, Location
//	GET    /api/notes               the caller's notes, newest first (?limit=&cursor= or ?page=&per_page=)
//	GET    /api/notes/shared        notes shared with the caller, the same way
//	GET    /api/notes/tags          {"items": [{tag, count}]}: the caller's tags, most used first
//	GET    /api/notes/{id}          a note the caller owns or that is shared with them
//	PATCH  /api/notes/{id}          any of title, body, tags, metadata (a merge patch) (owner only)
//	DELETE /api/notes/{id}          204 (owner only)
//	POST   /api/notes/{id}/shares   {user_id} -> 204; the user is notified off the request path
//
// It adds their description, openapi.json, to the server's, which GET
// /openapi.json answers: a route added here without its description fails
// the app's tests (TestRoutes_OpenAPI), and so does every response that
// does not hold to it.
func Routes(srv *httpapi.Server, svc Service) {
	if err := srv.AddOpenAPI(openAPI); err != nil {
		panic("notes: " + err.Error()) // it names one of kura's: a programming error
	}
	h := &handlers{srv: srv, svc: svc}
	srv.HandleAuth("POST /api/notes", h.create)
	srv.HandleAuth("GET /api/notes", h.list(false))
	srv.HandleAuth("GET /api/notes/shared", h.list(true))
	srv.HandleAuth("GET /api/notes/tags", h.tags)
	srv.HandleAuth("GET /api/notes/{id}", h.get)
	srv.HandleAuth("PATCH /api/notes/{id}", h.update)
	srv.HandleAuth("DELETE /api/notes/{id}", h.delete)
	srv.HandleAuth("POST /api/notes/{id}/shares", h.share)
}

// openAPI is the OpenAPI 3.1 description of the routes above; its $refs
// name kura's components (Error, Unauthorized, Limit, ...).
//
//go:embed openapi.json
var openAPI []byte

type handlers struct {
	srv *httpapi.Server
	svc Service
}

// noteJSON is the JSON view of a note. Who it is shared with is shown to
// its owner only.
type noteJSON struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	Tags       []string   `json:"tags"`
	Metadata   sqldb.JSON `json:"metadata"`
	SharedWith []int64    `json:"shared_with,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func view(viewer *kura.User) func(n *Note) noteJSON {
	return func(n *Note) noteJSON {
		v := noteJSON{ID: n.ID, UserID: n.UserID, Title: n.Title, Body: n.Body, Tags: n.Tags, Metadata: n.Metadata,
			CreatedAt: n.CreatedAt.UTC(), UpdatedAt: n.UpdatedAt.UTC()}
		if viewer.ID == n.UserID {
			v.SharedWith = n.SharedWith
		}
		return v
	}
}

// noteRequest is the body of POST and PATCH; a field left out is not
// changed.
type noteRequest struct {
	Title *string   `json:"title"`
	Body  *string   `json:"body"`
	Tags  *[]string `json:"tags"`
	// Metadata is a JSON object; in a PATCH, a merge patch of the stored one.
	Metadata json.RawMessage `json:"metadata"`
}

func (h *handlers) input(w http.ResponseWriter, r *http.Request) (NoteInput, error) {
	var in noteRequest
	err := h.srv.ReadJSON(w, r, &in)
	return NoteInput{Title: in.Title, Body: in.Body, Tags: in.Tags, Metadata: in.Metadata}, err
}

func (h *handlers) create(w http.ResponseWriter, r *http.Request) error {
	in, err := h.input(w, r)
	if err != nil {
		return err
	}
	n, err := h.svc.CreateNote(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/notes/"+strconv.FormatInt(n.ID, 10))
	h.srv.WriteJSON(w, r, http.StatusCreated, view(kura.UserFromContext(r.Context()))(n))
	return nil
}

func (h *handlers) get(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id", "Note")
	if err != nil {
		return err
	}
	n, err := h.svc.Note(r.Context(), id)
	if err != nil {
		return err
	}
	h.srv.WriteJSON(w, r, http.StatusOK, view(kura.UserFromContext(r.Context()))(n))
	return nil
}

func (h *handlers) update(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id", "Note")
	if err != nil {
		return err
	}
	in, err := h.input(w, r)
	if err != nil {
		return err
	}
	n, err := h.svc.UpdateNote(r.Context(), id, in)
	if err != nil {
		return err
	}
	h.srv.WriteJSON(w, r, http.StatusOK, view(kura.UserFromContext(r.Context()))(n))
	return nil
}

func (h *handlers) delete(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id", "Note")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteNote(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) list(shared bool) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		opt, err := httpapi.ListOptions(r)
		if err != nil {
			return err
		}
		p, err := h.svc.ListNotes(r.Context(), shared, opt)
		if err != nil {
			return err
		}
		h.srv.WriteJSON(w, r, http.StatusOK, httpapi.PageJSON(p, view(kura.UserFromContext(r.Context()))))
		return nil
	}
}

type tagJSON struct {
	Tag   string `json:"tag"`
	Count int64  `json:"count"`
}

func (h *handlers) tags(w http.ResponseWriter, r *http.Request) error {
	counts, err := h.svc.TagCounts(r.Context())
	if err != nil {
		return err
	}
	items := make([]tagJSON, len(counts))
	for i, c := range counts {
		items[i] = tagJSON(c)
	}
	h.srv.WriteJSON(w, r, http.StatusOK, map[string][]tagJSON{"items": items})
	return nil
}

type shareRequest struct {
	UserID int64 `json:"user_id"`
}

func (h *handlers) share(w http.ResponseWriter, r *http.Request) error {
	id, err := httpapi.PathID(r, "id", "Note")
	if err != nil {
		return err
	}
	var in shareRequest
	if err := h.srv.ReadJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.svc.ShareNote(r.Context(), id, in.UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
