package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kura-dev/kura"
)

// Defaults applied by New to the zero fields of a Config, and kura's
// default metrics address.
const (
	// DefaultAddr is where kura serves /metrics on a listener of its own
	// unless told otherwise: loopback only.
	DefaultAddr = "127.0.0.1:9464"
	// DefaultScrapeTimeout bounds the queries a scrape makes (the job
	// queue's depth and oldest job).
	DefaultScrapeTimeout = 2 * time.Second
	// Path is the path of the metrics endpoint.
	Path = "/metrics"
)

// Config configures New. The zero Config is valid.
type Config struct {
	// Registry receives every collector. Nil means a new registry of the
	// Metrics' own (see Metrics.Registry). It must not hold the process
	// or Go collectors already.
	Registry *prometheus.Registry
	// Engine is the database engine, a label of kura_build_info; "" means
	// "none".
	Engine string
	// ScrapeTimeout bounds the database queries of one scrape; zero means
	// DefaultScrapeTimeout (2s).
	ScrapeTimeout time.Duration
	// Logger receives failed scrape-time queries and the handler's errors
	// (warn). Nil means slog.Default().
	Logger *slog.Logger
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Engine == "" {
		c.Engine = "none"
	}
	if c.ScrapeTimeout == 0 {
		c.ScrapeTimeout = DefaultScrapeTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports a negative ScrapeTimeout.
func (c Config) Validate() error {
	if c.ScrapeTimeout < 0 {
		return fmt.Errorf("metrics: Config.ScrapeTimeout must be a positive duration, or 0 for the default, not %s", c.ScrapeTimeout)
	}
	return nil
}

// Metrics holds kura's collectors on one registry. Make it with New; its
// methods are safe for concurrent use.
type Metrics struct {
	cfg     Config
	reg     *prometheus.Registry
	handler http.Handler
	http    *httpMetrics
	jobs    *jobMetrics
}

// New registers build info, the process and Go runtime collectors and the
// families of the HTTP and job hooks on cfg.Registry, and returns the
// Metrics to add the rest to.
func New(cfg Config) (*Metrics, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	m := &Metrics{cfg: cfg, reg: cfg.Registry, http: newHTTPMetrics(), jobs: newJobMetrics()}
	commit := kura.Commit
	if commit == "" {
		commit = "unknown"
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kura_build_info",
		Help: "Always 1: kura's version and commit, the Go version it was built with, and the database engine.",
	}, []string{"version", "commit", "goversion", "engine"})
	build.WithLabelValues(kura.Version, commit, runtime.Version(), cfg.Engine).Set(1)
	cs := []prometheus.Collector{
		build,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	}
	cs = append(cs, m.http.collectors()...)
	cs = append(cs, m.jobs.collectors()...)
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError, // a failed query leaves out its figures, not the rest
		ErrorLog:          errorLog{cfg.Logger},
		Registry:          m.reg, // counts the handler's own errors
	})
	m.handler = promhttp.InstrumentMetricHandler(m.reg, h)
	return m, nil
}

// Registry returns the registry the collectors are on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the /metrics handler: the Prometheus text format, or
// OpenMetrics when the scraper asks for it. It checks no credential: see
// RequireToken.
func (m *Metrics) Handler() http.Handler { return m.handler }

// mustRegister registers c; a clash is a programming error, such as a
// cache added twice under one name.
func (m *Metrics) mustRegister(c prometheus.Collector) {
	if err := m.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			panic("metrics: registered twice: " + err.Error())
		}
		panic("metrics: " + err.Error())
	}
}

// errorLog passes promhttp's errors to the logger.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics: " + fmt.Sprint(v...)) }

// children maps a label set K to its pre-resolved counters and histograms
// V. Reads are a lock-free load of an immutable map; a new label set
// copies the map under mu, which happens once per set, and sets are
// bounded.
type children[K comparable, V any] struct {
	mu   sync.Mutex
	m    atomic.Pointer[map[K]V]
	make func(K) V
}

func newChildren[K comparable, V any](mk func(K) V) *children[K, V] {
	c := &children[K, V]{make: mk}
	empty := map[K]V{}
	c.m.Store(&empty)
	return c
}

// get returns the value of k, making it on first use.
func (c *children[K, V]) get(k K) V {
	if v, ok := (*c.m.Load())[k]; ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.m.Load()
	if v, ok := old[k]; ok {
		return v
	}
	v := c.make(k)
	next := make(map[K]V, len(old)+1)
	for ok, ov := range old {
		next[ok] = ov
	}
	next[k] = v
	c.m.Store(&next)
	return v
}
