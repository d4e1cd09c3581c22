package main

import (
	"context"
	"flag"
	"io"

	"github.com/kura-dev/kura/app"
	"github.com/kura-dev/kura/httpapi"
)

// serveCommand runs the API, and KURA_WORKERS job workers, until ctx is
// cancelled (SIGINT or SIGTERM): package app's App, kura's own.
type serveCommand struct {
	m  *Main
	cf configFlags
}

var serveDoc = doc{
	synopsis: "serve [--addr ADDRESS] [--migrate=false] [--dev] [--env-file FILE]",
	about: `Serve the users API and work background jobs until SIGINT or SIGTERM, applying
pending migrations first. On the signal it answers 503 "draining" on
/health/ready for KURA_DRAIN_DELAY while still serving (a second signal cuts
the delay short), then stops accepting, drains in-flight requests, stops the
job workers (running jobs finish, or are handed back to run again) and closes
the database, within KURA_SHUTDOWN_TIMEOUT.`,
	env: envLog | envDB | envStart | envHTTP | envCache | envMigrate | envMigrator | envJobs | envShutdown | envDrain | envMetrics | envBackup | envMail | envConsole,
}

func (c *serveCommand) flags() *flag.FlagSet {
	fs := newFlagSet("serve", &c.cf)
	c.cf.bind(fs, "addr", "KURA_ADDR", "listen `address`")
	c.cf.bind(fs, "migrate", "KURA_AUTO_MIGRATE", "apply pending migrations at start")
	c.cf.bind(fs, "dev", "KURA_DEV", "development mode, on loopback only")
	return fs
}

func (c *serveCommand) Usage(w io.Writer) { printUsage(w, serveDoc, c.flags()) }

func (c *serveCommand) Run(ctx context.Context, args []string) error {
	return c.m.runApp(ctx, c, &c.cf, c.flags(), args, "serve", app.Options{
		Index: index(),
		Serving: func(a *app.App, url string) {
			if c.m.terminal(c.m.Stdout) {
				c.m.banner(ctx, a, url, &c.cf)
			}
			if c.m.Listening != nil {
				c.m.Listening(url)
			}
		},
	})
}

// runApp is how serve and worker, the commands that run until a signal,
// run: parse their flags (they take no arguments), load the
// configuration and run kura's App with opts.
func (m *Main) runApp(ctx context.Context, cmd Command, cf *configFlags, fs *flag.FlagSet, args []string, name string, opts app.Options) error {
	if err := m.parseFlags(cmd, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return m.usageErr(cmd, name+" takes no arguments")
	}
	cfg, err := loadConfig(cf.source(m))
	if err != nil {
		return err
	}
	opts.Stderr, opts.Environ, opts.Signals, opts.Notifier = m.Stderr, m.environ(), m.signals, m.Notifier
	return app.Run(ctx, cfg, opts)
}

// docsURL is where kura's documentation is read.
const docsURL = "https://github.com/kura-dev/kura#readme"

// index is what GET / answers: kura's name and where to go. The version
// is not shown to anonymous callers (kura version and the metrics'
// kura_build_info give it to operators).
func index() *httpapi.Index {
	return &httpapi.Index{Name: "kura", Links: map[string]string{
		"health": "/health",
		"live":   "/health/live",
		"api":    "/api/users",
		"docs":   docsURL,
	}}
}
