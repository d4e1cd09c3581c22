package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/httpapi"
)

// pageData is what every page's template gets.
type pageData struct {
	Title   string
	Nav     string // the nav entry of the page
	User    *kura.User
	CSRF    string
	Done    string // what the last action did
	Problem string // why the request failed
	Data    any    // the page's own
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"bytes": func(n int64) string {
		const unit = 1024
		if n < unit {
			return fmt.Sprintf("%d B", n)
		}
		div, exp := int64(unit), 0
		for m := n / unit; m >= unit; m /= unit {
			div, exp = div*unit, exp+1
		}
		return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
	},
}

// parsePages parses every page of assets/pages with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(assets, "assets/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(names))
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: %s: %w", n, err)
		}
		pages[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return pages, nil
}

// titles are the pages' titles.
var titles = map[string]string{
	"login": "Sign in", "overview": "Overview", "users": "Users", "user": "User",
	"audit": "Audit log", "jobs": "Jobs", "backups": "Backups", "error": "Problem",
}

// render writes the page name with data, for v (nil before login).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v *viewer, data any) {
	d := pageData{Title: titles[name], Nav: name, Data: data, Done: doneText(r)}
	if v != nil {
		d.User, d.CSRF = v.user, v.csrf()
	}
	switch p := data.(type) {
	case problemData:
		d.Problem = p.Message
	case loginData:
		d.Problem = p.Problem
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, d); err != nil {
		c.cfg.Logger.Error("console: render", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// problemData is the error page's.
type problemData struct {
	Status  int
	Message string
	Back    string
}

// fail answers err as the error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	status, msg := c.problem(r, err)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", retryAfter(err))
	}
	if errors.Is(err, errNotAdmin) {
		v = nil
	}
	c.render(w, r, status, "error", v, problemData{Status: status, Message: msg, Back: back(r)})
}

// problem returns the status and the message shown for err; an internal
// error is logged and shown without its cause.
func (c *Console) problem(r *http.Request, err error) (int, string) {
	status := map[string]int{
		kura.EINVALID: 400, kura.EUNAUTHORIZED: 401, kura.EFORBIDDEN: 403, kura.ENOTFOUND: 404,
		kura.ECONFLICT: 409, kura.ERATELIMITED: 429, kura.EUNAVAILABLE: 503,
	}[kura.ErrorCode(err)]
	if status == 0 {
		c.cfg.Logger.Error("console: internal error", "path", r.URL.Path, "request_id", httpapi.RequestID(r.Context()), "err", err)
		return http.StatusInternalServerError, "Something went wrong on the server; it is logged. Nothing was changed."
	}
	msg := kura.ErrorMessage(err)
	for f, m := range kura.ErrorFields(err) {
		msg += " " + f + " " + m + "."
	}
	return status, msg
}

// back is where the error page links back to: the page a form was on.
func back(r *http.Request) string {
	if r.Method == http.MethodPost {
		return safeNext(strings.TrimSuffix(path.Dir(r.URL.Path), "/retry"))
	}
	return Prefix
}

// retryAfter is the Retry-After of a rate-limited login.
func retryAfter(err error) string { return httpapi.RetryAfter(err) }

// notFound is the page of a console URL that is none.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return kura.Errorf(kura.ENOTFOUND, "There is no such page in the console.")
}

// dones are the messages of the actions, by the done= of their redirect.
var dones = map[string]string{
	"role":     "The role was changed.",
	"sessions": "Every session of the user was ended.",
	"retry":    "The job will run again.",
	"cancel":   "The job was cancelled.",
	"taken":    "The backup was taken.",
	"verified": "The backup was verified: it restores and matches its manifest.",
}

func doneText(r *http.Request) string { return dones[r.URL.Query().Get("done")] }
