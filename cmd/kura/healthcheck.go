package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kura-dev/kura/internal/credurl"
)

// healthcheckCommand asks a running kura serve for GET /health/ready and
// exits 0 when it answers 200: the probe of Docker's HEALTHCHECK, since a
// scratch image has no curl, and of deploy.sh. It reads what a load
// balancer reads, so that a busy pool (which still serves) does not make
// the container unhealthy.
type healthcheckCommand struct {
	m  *Main
	cf configFlags
}

var healthcheckDoc = doc{
	synopsis: "healthcheck [--addr ADDRESS] [--url URL] [--timeout DURATION] [--env-file FILE]",
	about: `Ask the kura serve at KURA_ADDR (a wildcard host such as 0.0.0.0 is asked on
127.0.0.1), or at --url, for GET /health/ready, the check a load balancer
reads. Exit 0 when it answers 200 (ready: it can serve, even if busy), 1
otherwise (draining, or the database unreachable), printing the answer's
status either way. Docker's
HEALTHCHECK of kura's image runs it. It reads the configuration as serve
does (and refuses what serve would refuse), for KURA_ADDR.`,
	env: envHTTP | envDB,
}

// defaultHealthcheckTimeout bounds the whole check.
const defaultHealthcheckTimeout = 5 * time.Second

func (c *healthcheckCommand) flags() (*flag.FlagSet, *string, *time.Duration) {
	fs := newFlagSet("healthcheck", &c.cf)
	c.cf.bind(fs, "addr", "KURA_ADDR", "the server's listen `address`")
	url := fs.String("url", "", "the server's base `URL`, such as http://127.0.0.1:8080 (default: from KURA_ADDR)")
	timeout := fs.Duration("timeout", defaultHealthcheckTimeout, "give up after this `duration`")
	return fs, url, timeout
}

func (c *healthcheckCommand) Usage(w io.Writer) {
	fs, _, _ := c.flags()
	printUsage(w, healthcheckDoc, fs)
}

func (c *healthcheckCommand) Run(ctx context.Context, args []string) error {
	fs, base, timeout := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "healthcheck takes no arguments")
	}
	if *timeout <= 0 {
		return c.m.usageErr(c, "--timeout: want a positive duration, such as 5s")
	}
	if *base == "" {
		cfg, err := loadConfig(c.cf.source(c.m))
		if err != nil {
			return err
		}
		*base = localURL(cfg.Addr)
	} else if err := credurl.Check(*base); err != nil {
		return c.m.usageErr(c, "--url: "+err.Error())
	}
	u := strings.TrimSuffix(*base, "/") + "/health/ready"
	shown := credurl.WithoutUserinfo(u) // credentials in --url are sent, never printed
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return c.m.usageErr(c, fmt.Sprintf("--url: %s is not a URL: %v", shown, withoutURL(err)))
	}
	res, err := http.DefaultClient.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("GET %s: no answer within %s", shown, *timeout)
	}
	if err != nil {
		return fmt.Errorf("GET %s: %w (is kura serve running there?)", shown, withoutURL(err))
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s: %s %s", shown, res.Status, strings.TrimSpace(string(body)))
	}
	_, err = fmt.Fprintf(c.m.Stdout, "healthy: GET %s: %s\n", shown, res.Status)
	return err
}

// withoutURL returns the cause of a *url.Error, whose message quotes the
// URL (and so the user name, or all of it when it does not parse), and
// err itself otherwise.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// localURL returns the base URL that reaches a server listening on addr
// from the same host: a wildcard or empty host becomes 127.0.0.1.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
