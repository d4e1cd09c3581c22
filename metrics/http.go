package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/httpapi"
)

// Buckets of the HTTP histograms: kura answers most requests in a few
// milliseconds, so the duration buckets start at one.
var (
	durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	sizeBuckets     = prometheus.ExponentialBuckets(64, 4, 9) // 64 B to 4 MiB
)

// unmatched is the route label of a request no route matched (404, 405):
// the access log's name for it too.
const unmatched = httpapi.UnmatchedRoute

// httpMetrics are the families of ObserveRequest.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	size     *prometheus.HistogramVec
	routes   *children[routeKey, *routeObservers]
}

// routeKey is one label set of a request. status is 0 for a status
// outside 100-599.
type routeKey struct {
	route, method string
	status        int
}

// routeObservers are the pre-resolved children of one routeKey.
type routeObservers struct {
	requests       prometheus.Counter
	duration, size prometheus.Observer
}

func newHTTPMetrics() *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kura_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kura_http_request_duration_seconds",
			Help:    "Time from a request's arrival at the middleware to its answer, by route pattern and method.",
			Buckets: durationBuckets,
		}, []string{"route", "method"}),
		size: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kura_http_response_size_bytes",
			Help:    "Size of response bodies, by route pattern and method.",
			Buckets: sizeBuckets,
		}, []string{"route", "method"}),
	}
	h.routes = newChildren(func(k routeKey) *routeObservers {
		route := k.route
		if route == "" {
			route = unmatched
		}
		status := "other"
		if k.status != 0 {
			status = strconv.Itoa(k.status)
		}
		return &routeObservers{
			requests: h.requests.WithLabelValues(route, k.method, status),
			duration: h.duration.WithLabelValues(route, k.method),
			size:     h.size.WithLabelValues(route, k.method),
		}
	})
	return h
}

func (h *httpMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{h.requests, h.duration, h.size}
}

// ObserveRequest counts an answered request: it is an httpapi
// Config.OnRequest hook. It allocates nothing once the request's route,
// method and status have been seen.
func (m *Metrics) ObserveRequest(ri httpapi.RequestInfo) {
	k := routeKey{route: ri.Route, method: methodLabel(ri.Method), status: ri.Status}
	if k.status < 100 || k.status > 599 {
		k.status = 0
	}
	o := m.http.routes.get(k)
	o.requests.Inc()
	o.duration.Observe(ri.Duration.Seconds())
	o.size.Observe(float64(ri.Bytes))
}

// methodLabel returns the method for a label: one of HTTP's standard
// methods, else "other", since a client may send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// InFlighter is what AddServer reads: *httpapi.Server has it.
type InFlighter interface {
	InFlight() int64
}

var _ InFlighter = (*httpapi.Server)(nil)

// AddServer exports the requests s is serving now as
// kura_http_requests_in_flight, read at scrape time. It panics if called
// twice.
func (m *Metrics) AddServer(s InFlighter) {
	m.mustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kura_http_requests_in_flight",
		Help: "HTTP requests being served now.",
	}, func() float64 { return float64(s.InFlight()) }))
}
