package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/kura-dev/kura"
)

// CookieName is the console's session cookie: a kura session token,
// scoped to Prefix.
const CookieName = "kura_console"

// CSRFField is the form field carrying the synchronizer token.
const CSRFField = "csrf"

// viewer is the signed-in admin of a request.
type viewer struct {
	user  *kura.User
	token string
}

// csrf returns the synchronizer token of the viewer's session: an HMAC of
// a fixed label keyed by the session token, which only a page served to
// the session's holder contains (the cookie is HttpOnly and the token
// is never shown), valid for as long as the session.
func (v *viewer) csrf() string { return csrfToken(v.token) }

func csrfToken(session string) string {
	m := hmac.New(sha256.New, []byte(session))
	m.Write([]byte("kura console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// handler is a console page or action for a signed-in admin.
type handler func(w http.ResponseWriter, r *http.Request, v *viewer) error

// signedIn returns the admin of r's session cookie, nil with no live
// session, or the error of a session whose user is not an admin.
func (c *Console) signedIn(r *http.Request) (*viewer, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 512 {
		return nil, nil
	}
	sess, err := c.cfg.Sessions.Authenticate(r.Context(), ck.Value)
	if kura.ErrorCode(err) == kura.EUNAUTHORIZED {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if sess.User == nil || sess.User.Role != kura.RoleAdmin {
		return nil, errNotAdmin
	}
	return &viewer{user: sess.User, token: ck.Value}, nil
}

var errNotAdmin = kura.Errorf(kura.EFORBIDDEN, "This account is not an admin: the console is for admins only.")

var errForged = kura.Errorf(kura.EFORBIDDEN, "The form's security token is missing or wrong (the page may be from an earlier session): reload the page and try again. Nothing was changed.")

var errCrossOrigin = kura.Errorf(kura.EFORBIDDEN, "The console accepts forms from its own pages only. Nothing was changed.")

// page wraps a page for signed-in admins: without a session, a redirect
// to the login form; for anyone else, 403.
func (c *Console) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := c.signedIn(r)
		if err == nil && v == nil {
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err == nil {
			err = h(w, r, v)
		}
		if err != nil {
			c.fail(w, r, v, err)
		}
	}
}

// action wraps a form's action: a page that also requires the same
// origin and the session's synchronizer token, checked before anything
// changes.
func (c *Console) action(h handler) http.HandlerFunc {
	return c.sameOrigin(c.page(func(w http.ResponseWriter, r *http.Request, v *viewer) error {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		got := r.PostFormValue(CSRFField)
		if subtle.ConstantTimeCompare([]byte(got), []byte(v.csrf())) != 1 {
			return errForged
		}
		return h(w, r, v)
	}))
}

// sameOrigin refuses a write that a browser says comes from another
// site (Sec-Fetch-Site) or origin (Origin).
func (c *Console) sameOrigin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			c.fail(w, r, nil, errCrossOrigin)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != origin(r) {
			c.fail(w, r, nil, errCrossOrigin)
			return
		}
		h(w, r)
	}
}

// origin is the console's own origin as r reached it.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// setSession sets (or, for an empty token, clears) the session cookie.
func (c *Console) setSession(w http.ResponseWriter, token string, expires time.Time) {
	ck := &http.Cookie{
		Name: CookieName, Value: token, Path: Prefix,
		HttpOnly: true, Secure: c.cfg.Secure, SameSite: http.SameSiteStrictMode,
	}
	if token == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires.UTC()
	}
	http.SetCookie(w, ck)
}

// loginPage serves the login form; a signed-in admin goes to the overview.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if v, err := c.signedIn(r); v != nil && err == nil {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", nil, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

type loginData struct {
	Next    string
	Login   string
	Problem string
}

// login checks the form through the API's login (its limits and password
// guard), keeps the session of an admin and ends anyone else's.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	d := loginData{Next: safeNext(r.PostFormValue("next")), Login: r.PostFormValue("login")}
	sess, err := c.cfg.Server.Login(r, d.Login, r.PostFormValue("password"))
	if err == nil && sess.User.Role != kura.RoleAdmin {
		c.cfg.Sessions.Logout(context.WithoutCancel(r.Context()), sess.Token)
		err = errNotAdmin
	}
	if err != nil {
		status, msg := c.problem(r, err)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfter(err))
		}
		d.Problem = msg
		c.render(w, r, status, "login", nil, d)
		return
	}
	c.setSession(w, sess.Token, sess.ExpiresAt)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// logout ends the console's session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if err := c.cfg.Sessions.Logout(r.Context(), v.token); err != nil && kura.ErrorCode(err) != kura.EUNAUTHORIZED {
		return err
	}
	c.setSession(w, "", time.Time{})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
	return nil
}

// safeNext returns next when it is a path of the console, else Prefix:
// the login never redirects elsewhere.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(next, Prefix) ||
		!strings.HasPrefix(path.Clean(u.Path)+"/", Prefix) {
		return Prefix
	}
	return next
}
