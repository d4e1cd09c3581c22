package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// doIf sends a request with a JSON body, a token and an If-Match header
// ("" for none) as contentType.
func (e *env) doIf(method, path, body, token, ifMatch, contentType string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	return e.serve(req)
}

func TestUsers_ETag(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	path := fmt.Sprintf("/api/users/%d", annID)

	get := e.do("GET", path, nil, annTok)
	mustStatus(t, get, http.StatusOK)
	tag := get.Header().Get("ETag")
	if len(tag) != 18 || tag[0] != '"' {
		t.Fatalf("ETag = %q", tag)
	}
	if me := e.do("GET", "/api/users/me", nil, annTok); me.Header().Get("ETag") != tag {
		t.Fatalf("/me ETag = %q; want %q", me.Header().Get("ETag"), tag)
	}
	if pub := e.do("GET", path, nil, ""); pub.Header().Get("ETag") != "" {
		t.Fatalf("public view has ETag %q", pub.Header().Get("ETag"))
	}

	// Malformed: 400, nothing changed.
	for _, bad := range []string{`abc`, `"unterminated`, `W/abc`, `"a", b`, `*, "a"`, `"a"b"`} {
		w := e.doIf("PATCH", path, `{"username":"anna"}`, annTok, bad, "application/json")
		if got := mustError(t, w, http.StatusBadRequest, "bad_request"); got.Error.Fields["If-Match"] == "" {
			t.Errorf("If-Match %s: fields %v", bad, got.Error.Fields)
		}
		mustStatus(t, e.doIf("DELETE", path, "", annTok, bad, "application/json"), http.StatusBadRequest)
	}

	// Current tag (in a list, as a merge patch): 200 and a new tag.
	w := e.doIf("PATCH", path, `{"profile":{"city":"Oslo"}}`, annTok, `"x", `+tag, "application/merge-patch+json")
	mustStatus(t, w, http.StatusOK)
	newTag := w.Header().Get("ETag")
	if newTag == "" || newTag == tag || !strings.Contains(w.Body.String(), `"profile":{"city":"Oslo"}`) {
		t.Fatalf("PATCH: ETag %q (was %q), body %s", newTag, tag, w.Body)
	}

	// Stale tag: 412, nothing changed; weak tags never match.
	for _, stale := range []string{tag, "W/" + newTag} {
		w = e.doIf("PATCH", path, `{"username":"anna"}`, annTok, stale, "application/json")
		mustError(t, w, http.StatusPreconditionFailed, "precondition_failed")
		mustError(t, e.doIf("DELETE", path, "", annTok, stale, "application/json"), http.StatusPreconditionFailed, "precondition_failed")
	}
	if now := e.do("GET", path, nil, annTok); now.Header().Get("ETag") != newTag || !strings.Contains(now.Body.String(), `"username":"ann"`) {
		t.Fatalf("after stale writes: %s %s", now.Header().Get("ETag"), now.Body)
	}
	// * and no header: as before.
	mustStatus(t, e.doIf("PATCH", path, `{"profile":{"bio":"x"}}`, annTok, "*", "application/json"), http.StatusOK)
	cur := e.do("GET", path, nil, annTok).Header().Get("ETag")
	mustStatus(t, e.doIf("DELETE", path, "", annTok, cur, "application/json"), http.StatusNoContent)
}

// TestUsers_IfMatchMissingUser holds PATCH and DELETE of a user that does
// not exist to 404 whatever their If-Match, * included: RFC 9110, 13.2.1,
// has a server ignore the preconditions of a request whose answer without
// them would be neither 2xx nor 412 (see ifMatch).
func TestUsers_IfMatchMissingUser(t *testing.T) {
	e := newEnv(t)
	_, adminTok := e.mustUser("root", true)
	annID, _ := e.mustUser("ann", false)
	path := fmt.Sprintf("/api/users/%d", annID+1000)
	for _, cond := range []string{"*", `"0123456789abcdef"`, ""} {
		w := e.doIf("PATCH", path, `{"profile":{"city":"Oslo"}}`, adminTok, cond, "application/merge-patch+json")
		mustError(t, w, http.StatusNotFound, "not_found")
		mustError(t, e.doIf("DELETE", path, "", adminTok, cond, "application/json"), http.StatusNotFound, "not_found")
	}
}

func TestListUsers_ProfileFilter(t *testing.T) {
	e := newEnv(t)
	_, annTok := e.mustUser("ann", false)
	_, adminTok := e.mustUser("root", true)
	mustError(t, e.do("GET", "/api/users?profile.city=Oslo", nil, annTok), http.StatusForbidden, "forbidden")
	mustStatus(t, e.do("GET", "/api/users?profile.city=Oslo", nil, adminTok), http.StatusOK)
	got := mustError(t, e.do("GET", "/api/users?profile.bio=x", nil, adminTok), http.StatusBadRequest, "bad_request")
	if !strings.Contains(got.Error.Fields["profile.bio"], "profile.city") {
		t.Errorf("fields = %v; want profile.bio naming profile.city", got.Error.Fields)
	}
	mustError(t, e.do("GET", "/api/users?profile.city=a&profile.city=b", nil, adminTok), http.StatusBadRequest, "bad_request")
}

func TestUpdateUser_ProfileNotObject(t *testing.T) {
	e := newEnv(t)
	annID, annTok := e.mustUser("ann", false)
	path := fmt.Sprintf("/api/users/%d", annID)
	for _, body := range []string{`{"profile":[1]}`, `{"profile":"x"}`, `{"profile":null}`} {
		got := mustError(t, e.doIf("PATCH", path, body, annTok, "", "application/merge-patch+json"), http.StatusUnprocessableEntity, "invalid")
		if got.Error.Fields["profile"] == "" {
			t.Errorf("%s: fields %v", body, got.Error.Fields)
		}
	}
}
