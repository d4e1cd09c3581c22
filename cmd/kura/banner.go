package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/sqldb"
)

// terminal reports whether w is a terminal, where serve prints its banner
// for a person; under systemd, Docker or a pipe the logs say it all.
func (m *Main) terminal(w io.Writer) bool {
	if m.isTerminal != nil {
		return m.isTerminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// banner writes to Stdout what a person who just ran kura serve needs: the
// URL, the engine and where the data is, where the docs are, and, while no
// admin exists, the command that makes one.
func (m *Main) banner(ctx context.Context, a *app.App, url string, cf *configFlags) {
	cfg := a.Config()
	dbURL := cfg.DB(nil).WithDefaults().URL
	where := sqldb.RedactURL(dbURL)
	if a.DB().Dialect() == sqldb.SQLite {
		if p, err := sqldb.SQLitePath(dbURL); err == nil {
			where = p
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nkura %s is serving %s\n\n", kura.Version, url)
	fmt.Fprintf(&b, "  engine   %s, data in %s\n", a.DB().Dialect(), where)
	fmt.Fprintf(&b, "  health   %s/health\n", url)
	fmt.Fprintf(&b, "  api      %s%s (OpenAPI 3.1)\n", url, httpapi.OpenAPIPath)
	fmt.Fprintf(&b, "  docs     %s (kura help lists the commands)\n", docsURL)
	if a.Config().Dev {
		b.WriteString(devBanner)
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	n, err := countAdmins(cctx, a.DB())
	cancel()
	if err == nil && n == 0 {
		envFile := ""
		if cf.envFileSet && cf.envFile != "" {
			envFile = " --env-file " + cf.envFile
		}
		fmt.Fprintf(&b, "\nNo admin account yet. Make the first one with (in another terminal):\n\n  %s %s%s\n", kuraCommand(), createAdminArgs, envFile)
	}
	b.WriteString("\nStop with Ctrl-C.\n\n")
	a.Flush() // the start's log lines first, then the banner below them
	io.WriteString(m.Stdout, b.String())
}
