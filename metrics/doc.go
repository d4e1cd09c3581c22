// Package metrics exports kura's figures in the Prometheus text format (and
// OpenMetrics when the scraper asks): the database pools, the caches, the
// job queue, the HTTP server, the build, the process and the Go runtime.
//
// It registers nothing globally. New registers on a *prometheus.Registry of
// the caller's (or one it makes) the families it always has: build info,
// the process and Go runtime collectors, and the HTTP and job families fed
// by hooks. The rest is added for what a process has:
//
//	m, err := metrics.New(metrics.Config{Engine: string(db.Dialect())})
//	m.AddPools(db)                                  // *sqldb.DB
//	m.AddCache("user", userCache)                   // a *cache.Cache[V]
//	jc, err := jobs.New(db, jobs.Config{OnAttempt: m.ObserveJob, ...})
//	m.AddJobs(jc)                                   // queue depth and age at scrape time
//	srv := httpapi.NewServer(httpapi.Config{OnRequest: m.ObserveRequest, ...})
//	m.AddServer(srv)                                // requests in flight
//	ms, err := metrics.Listen("127.0.0.1:9464", metrics.RequireToken(token, m.Handler()), logger)
//
// The hooks (ObserveRequest, ObserveJob) allocate nothing once a label set
// has been seen: each set's counters and histograms are looked up in a map
// that is copied on the rare write and read without a lock. Labels are
// bounded: a route is its pattern ("unmatched" for none), a method outside
// HTTP's standard ones is "other", a job kind is one a worker was added for.
//
// The metrics are operator-only: Listen serves them on a listener of their
// own (loopback in kura's default), and RequireToken puts them behind a
// bearer token. docs/OPERATIONS.md lists every metric.
package metrics
