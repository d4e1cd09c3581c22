package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/kura-dev/kura"
)

type usersData struct {
	Users []*kura.User
	Q, By string
	Next  string // the link of the next page, "" on the last
}

// users lists users newest first by keyset, or those whose email or
// username starts with q, in that column's order.
func (c *Console) users(w http.ResponseWriter, r *http.Request, v *viewer) error {
	q := r.URL.Query()
	d := usersData{Q: strings.TrimSpace(q.Get("q")), By: q.Get("by")}
	if d.By != "username" {
		d.By = "email"
	}
	after := q.Get("after")
	if d.Q == "" {
		page, err := c.cfg.Users.ListUsers(r.Context(), kura.ListOptions{Limit: PageSize, Cursor: after})
		if err != nil {
			return err
		}
		d.Users = page.Items
		if page.NextCursor != "" {
			d.Next = Prefix + "users?after=" + page.NextCursor
		}
	} else {
		if len(d.Q) > 254 {
			return kura.Errorf(kura.EINVALID, "The search is too long: at most 254 characters.")
		}
		users, err := c.cfg.Users.SearchUsers(r.Context(), d.By, d.Q, after, PageSize+1)
		if err != nil {
			return err
		}
		if len(users) > PageSize {
			users = users[:PageSize]
			last := users[PageSize-1].Email
			if d.By == "username" {
				last = users[PageSize-1].Username
			}
			d.Next = Prefix + "users?" + urlValues("q", d.Q, "by", d.By, "after", strings.ToLower(last))
		}
		d.Users = users
	}
	c.render(w, r, http.StatusOK, "users", v, d)
	return nil
}

type userData struct {
	User      *kura.User
	CanManage bool
	Roles     []kura.Role
}

// user shows one user and the actions on them.
func (c *Console) user(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := userID(r)
	if err != nil {
		return err
	}
	u, err := c.cfg.Users.FindUserByID(r.Context(), id)
	if kura.ErrorCode(err) == kura.ENOTFOUND {
		return kura.Errorf(kura.ENOTFOUND, "There is no such user: user %d does not exist, or was deleted.", id)
	} else if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "user", v, userData{User: u, CanManage: c.cfg.Accounts != nil, Roles: []kura.Role{kura.RoleUser, kura.RoleAdmin}})
	return nil
}

// userID is the {id} of a user's URL.
func userID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, kura.Errorf(kura.ENOTFOUND, "There is no such user.")
	}
	return id, nil
}

// gone explains an action on a user that no longer exists.
func gone(err error, id int64) error {
	if kura.ErrorCode(err) == kura.ENOTFOUND {
		return kura.Errorf(kura.ENOTFOUND, "User %d no longer exists: it was deleted after this page was loaded. Nothing was changed.", id)
	}
	return err
}

// changeRole sets a user's role (audited).
func (c *Console) changeRole(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := userID(r)
	if err != nil || c.cfg.Accounts == nil {
		return orUnavailable(err)
	}
	role := kura.Role(r.PostFormValue("role"))
	if !role.Valid() {
		return kura.FieldError(kura.EINVALID, "role", "must be user or admin")
	}
	if _, err := c.cfg.Accounts.ChangeRole(r.Context(), v.user, id, role); err != nil {
		return gone(err, id)
	}
	http.Redirect(w, r, Prefix+"users/"+strconv.FormatInt(id, 10)+"?done=role", http.StatusSeeOther)
	return nil
}

// endSessions ends every session of a user (audited).
func (c *Console) endSessions(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := userID(r)
	if err != nil || c.cfg.Accounts == nil {
		return orUnavailable(err)
	}
	if _, err := c.cfg.Accounts.EndSessions(r.Context(), v.user, id); err != nil {
		return gone(err, id)
	}
	http.Redirect(w, r, Prefix+"users/"+strconv.FormatInt(id, 10)+"?done=sessions", http.StatusSeeOther)
	return nil
}

// orUnavailable returns err, or, when there is none, the error of an
// action this server does not offer.
func orUnavailable(err error) error {
	if err != nil {
		return err
	}
	return kura.Errorf(kura.ENOTFOUND, "This server does not offer that action.")
}

type auditData struct {
	Entries []*AuditEntry
	Next    string
	Off     bool
}

// audit lists the audit log newest first.
func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *viewer) error {
	var d auditData
	if c.cfg.Accounts == nil {
		d.Off = true
	} else {
		page, err := c.cfg.Accounts.ListAudit(r.Context(), kura.ListOptions{Limit: PageSize, Cursor: r.URL.Query().Get("after")})
		if err != nil {
			return err
		}
		d.Entries = page.Items
		if page.NextCursor != "" {
			d.Next = Prefix + "audit?after=" + page.NextCursor
		}
	}
	c.render(w, r, http.StatusOK, "audit", v, d)
	return nil
}
