package main

import (
	"context"
	"flag"
	"io"

	"github.com/kura-dev/kura/app"
)

// workerCommand works background jobs without serving the API, until
// SIGINT or SIGTERM; then it lets running jobs finish, or hands them back,
// within KURA_SHUTDOWN_TIMEOUT: package app's App as a Worker.
type workerCommand struct {
	m  *Main
	cf configFlags
}

var workerDoc = doc{
	synopsis: "worker [--concurrency N] [--migrate=false] [--env-file FILE]",
	about: `Work background jobs without serving the API, until SIGINT or SIGTERM; then
let running jobs finish, or hand them back to run again, within
KURA_SHUTDOWN_TIMEOUT. KURA_WORKERS=0, which makes serve only enqueue, means
the default here.`,
	env: envLog | envDB | envStart | envMigrate | envMigrator | envJobs | envShutdown | envMetrics | envBackup | envMail,
}

func (c *workerCommand) flags() *flag.FlagSet {
	fs := newFlagSet("worker", &c.cf)
	c.cf.bind(fs, "concurrency", "KURA_WORKERS", "jobs worked at once")
	c.cf.bind(fs, "migrate", "KURA_AUTO_MIGRATE", "apply pending migrations at start")
	return fs
}

func (c *workerCommand) Usage(w io.Writer) { printUsage(w, workerDoc, c.flags()) }

func (c *workerCommand) Run(ctx context.Context, args []string) error {
	return c.m.runApp(ctx, c, &c.cf, c.flags(), args, "worker", app.Options{Worker: true})
}
