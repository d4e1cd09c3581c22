package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/store"
)

// usersChange is what one of kura users promote, demote, disable and
// enable does.
type usersChange struct {
	name, about string
	change      func() kura.AccountChange
}

var usersChanges = []usersChange{
	{"promote", "make a user an admin", func() kura.AccountChange { r := kura.RoleAdmin; return kura.AccountChange{Role: &r} }},
	{"demote", "make an admin a user again (not the last active admin)", func() kura.AccountChange { r := kura.RoleUser; return kura.AccountChange{Role: &r} }},
	{"disable", "disable an account: its sessions end on every instance, it cannot log in or reset its password", func() kura.AccountChange { d := true; return kura.AccountChange{Disabled: &d} }},
	{"enable", "enable a disabled account again", func() kura.AccountChange { d := false; return kura.AccountChange{Disabled: &d} }},
}

// usersChangeCommand runs one usersChange on the user named by its
// argument, as the operator.
type usersChangeCommand struct {
	m    *Main
	cf   configFlags
	what usersChange
	json bool
}

func (c *usersChangeCommand) doc() doc {
	return doc{
		synopsis: "users " + c.what.name + " USER [--json] [--env-file FILE]",
		about: strings.ToUpper(c.what.about[:1]) + c.what.about[1:] + `. USER is an id, an email or a
user name. The change is written to the audit log as done by
"operator:<OS user>" (kura users audit). Refused, exit 1, for an unknown user
and for a change that would leave no active admin. With REDIS_URL and
CACHE_TTL the running instances' caches forget the user at once; without
REDIS_URL a running kura serve may serve its cached copy for up to CACHE_TTL.
--json prints the user as {"id", "email", "username", "role", "disabled"}.`,
		env: envLog | envDB | envMigrator | envCache,
	}
}

func (c *usersChangeCommand) flags() *flag.FlagSet {
	fs := newFlagSet("users "+c.what.name, &c.cf)
	fs.BoolVar(&c.json, "json", false, "print the user as JSON")
	return fs
}

func (c *usersChangeCommand) Usage(w io.Writer) { printUsage(w, c.doc(), c.flags()) }

func (c *usersChangeCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	target, err := c.m.parseWithArg(c, fs, args)
	if err != nil {
		return err
	}
	a, err := c.m.open(ctx, &c.cf, schemaMigrate)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.refuseReadOnly(ctx, "kura users "+c.what.name); err != nil {
		return err
	}
	id, err := findUserArg(ctx, a, target)
	if err != nil {
		return err
	}
	admin, done, err := a.adminService(c.m)
	defer done()
	if err != nil {
		return err
	}
	u, err := admin.ChangeAccount(ctx, operator(), id, c.what.change())
	if err != nil {
		return userFacing(err)
	}
	if c.json {
		return writeJSONTo(c.m.Stdout, userOut(u))
	}
	_, err = fmt.Fprintf(c.m.Stdout, "user %d (%s): role %s, %s\n", u.ID, u.Username, u.Role, status(u))
	return err
}

// parseWithArg parses the flags around the one argument a command takes,
// which may come before or after them, and returns it.
func (m *Main) parseWithArg(c Command, fs *flag.FlagSet, args []string) (string, error) {
	if err := m.parseFlags(c, fs, args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return "", m.usageErr(c, "give the user: an id, an email or a user name")
	}
	arg := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return "", usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return "", m.usageErr(c, "give one user, and flags; unexpected: "+strings.Join(fs.Args(), " "))
	}
	return arg, nil
}

// findUserArg returns the id of the user an argument names: a positive
// number is an id, anything else a login (an email or a user name,
// case-insensitive, as a login is matched).
func findUserArg(ctx context.Context, a *opened, arg string) (int64, error) {
	if id, err := strconv.ParseInt(arg, 10, 64); err == nil && id > 0 {
		if _, err := store.NewUsers(a.db).FindUserByID(ctx, id); err != nil {
			return 0, fmt.Errorf("no user with id %d", id)
		}
		return id, nil
	}
	if err := kura.ValidateLogin(arg); err != nil {
		return 0, userFacing(err)
	}
	u, _, err := store.NewSessions(a.db, 0).FindLogin(ctx, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no user with the email or user name %q", arg)
	} else if err != nil {
		return 0, err
	}
	return u.ID, nil
}

// operator is the actor of the commands: the OS user running them.
func operator() kura.Actor {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return kura.OperatorActor(name)
}

// adminService returns the account management service of the database
// (app.AdminService: its changes reach the running instances' caches
// through Redis). Without REDIS_URL it says on standard error how long a
// running instance may keep its copy. done closes what was made.
func (a *opened) adminService(m *Main) (kura.AdminService, func(), error) {
	svc, shared, done, err := app.AdminService(a.cfg, a.db, a.log)
	if err == nil && !shared {
		fmt.Fprintf(m.Stderr, "kura: note: REDIS_URL is not set: a running kura serve may use its cached copy of the user for up to CACHE_TTL (%s); restart it to apply the change at once\n", a.cfg.CacheTTL.D())
	}
	return svc, done, err
}

// userOut is a user as the users commands print it in JSON.
type userOutput struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Username  string    `json:"username"`
	Role      kura.Role `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

func userOut(u *kura.User) userOutput {
	return userOutput{ID: u.ID, Email: u.Email, Username: u.Username, Role: u.Role, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

func status(u *kura.User) string {
	if u.Disabled {
		return "disabled"
	}
	return "active"
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a tab writer for the commands' columns.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }
