package app

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/metrics"
)

// startMetrics makes the process's metrics when KURA_METRICS_ADDR or
// KURA_METRICS_TOKEN asks for them, with the database pools; the job
// queue, the caches and the HTTP server are added as they are made
// (newJobs, services, metricsRoute). Without either, a.metrics stays nil
// and no hook is set.
func (a *App) startMetrics() error {
	if a.cfg.MetricsAddr == "" && a.cfg.MetricsToken == "" {
		return nil
	}
	m, err := metrics.New(metrics.Config{Engine: string(a.db.Dialect()), Logger: a.log})
	if err != nil {
		return err
	}
	m.AddPools(a.db)
	if a.db.ReplicaStats() != nil {
		m.AddReplicas(a.db)
	}
	m.AddBackups(a.backupStatus())
	m.AddReadOnly(a.readOnly.Load)
	a.metrics = m
	return nil
}

// listenMetrics opens the metrics listener at KURA_METRICS_ADDR, if set,
// behind KURA_METRICS_TOKEN if that is set too. stopOnSignal and Close
// close it.
func (a *App) listenMetrics() error {
	if a.metrics == nil || a.cfg.MetricsAddr == "" {
		return nil
	}
	s, err := metrics.Listen(a.cfg.MetricsAddr, metrics.RequireToken(a.cfg.MetricsToken, a.metrics.Handler()), a.log)
	if errors.Is(err, syscall.EADDRINUSE) && a.cfg.MetricsAddr == metrics.DefaultAddr {
		// A second process on the host (a worker beside serve, or two
		// instances) finds the default address taken: it serves without a
		// metrics listener of its own rather than not at all.
		a.log.Warn("metrics listener not started: the default address is taken by another process; set KURA_METRICS_ADDR to an address of this process's own, or empty",
			"addr", a.cfg.MetricsAddr)
		return nil
	}
	if err != nil {
		return fmt.Errorf("KURA_METRICS_ADDR %s: %w (each process needs an address of its own; empty turns the listener off)", a.cfg.MetricsAddr, err)
	}
	a.metricsSrv = s
	return nil
}

// onRequest returns the HTTP server's hook: the console's request counts,
// and the metrics' when they are on.
func (a *App) onRequest() func(httpapi.RequestInfo) {
	if a.metrics == nil {
		return a.traffic.observe
	}
	return func(ri httpapi.RequestInfo) {
		a.traffic.observe(ri)
		a.metrics.ObserveRequest(ri)
	}
}

// metricsRoute exports srv's requests in flight and, when
// KURA_METRICS_TOKEN is set, serves GET /metrics on the API behind it.
// Without a token the API has no /metrics: it answers 404.
func (a *App) metricsRoute(srv *httpapi.Server) {
	if a.metrics == nil {
		return
	}
	a.metrics.AddServer(srv)
	if a.cfg.MetricsToken == "" {
		return
	}
	h := metrics.RequireToken(a.cfg.MetricsToken, a.metrics.Handler())
	srv.Handle("GET "+metrics.Path, func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	})
	if err := srv.AddOpenAPI(metrics.OpenAPI()); err != nil {
		panic(err) // the two descriptions clash: a programming error
	}
}

// addCache exports c's counters under the label cache=name, with metrics.
func (a *App) addCache(name string, c metrics.Cache) {
	a.caches = append(a.caches, namedCache{name, c})
	if a.metrics != nil {
		a.metrics.AddCache(name, c)
	}
}

// namedCache is a cache the console's overview shows, by name.
type namedCache struct {
	name string
	c    metrics.Cache
}
