package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kura-dev/kura/cache"
)

// Cache is what AddCache reads: every *cache.Cache[V] has it.
type Cache interface {
	Stats() cache.Stats
}

var _ Cache = (*cache.Cache[struct{}])(nil)

// AddCache exports the counters of c under the label cache=name (kura's
// are "user", "session" and "stats"), read at scrape time. It panics if a
// cache of that name was added already.
func (m *Metrics) AddCache(name string, c Cache) {
	desc := func(fqName, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(fqName, help, labels, prometheus.Labels{"cache": name})
	}
	m.mustRegister(&cacheCollector{
		c:             c,
		hits:          desc("kura_cache_hits_total", "Reads answered by a tier: local (in process) or redis.", "tier"),
		misses:        desc("kura_cache_misses_total", "Reads a tier could not answer: local, or redis after a local miss.", "tier"),
		loads:         desc("kura_cache_loads_total", "Calls of the loader (the database) after both tiers missed."),
		loadErrors:    desc("kura_cache_load_errors_total", "Loader errors, not cached (a not-found is not an error)."),
		invalidations: desc("kura_cache_invalidations_total", "Keys dropped from the local tier by a write here or on another instance."),
		failed:        desc("kura_cache_failed_invalidations_total", "Keys of this instance's writes that Redis or another instance did not confirm dropping."),
		redisErrors:   desc("kura_cache_redis_errors_total", "Redis commands that failed or timed out."),
		resets:        desc("kura_cache_resets_total", "Times the whole local tier was dropped because Redis came back after invalidations may have been missed."),
		untrusted:     desc("kura_cache_untrusted_reads_total", "Reads of a strict cache (users, sessions) answered by the database alone because invalidations were not confirmed within the lease."),
		entries:       desc("kura_cache_entries", "Entries in the local tier (approximate)."),
		degraded:      desc("kura_cache_redis_degraded", "1 while the Redis tier is configured but not connected and subscribed; 0 otherwise."),
	})
}

type cacheCollector struct {
	c                                                                                    Cache
	hits, misses, loads, loadErrors, invalidations, failed, redisErrors, resets, entries *prometheus.Desc
	degraded, untrusted                                                                  *prometheus.Desc
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.loads, c.loadErrors, c.invalidations, c.failed, c.redisErrors, c.resets, c.entries, c.degraded, c.untrusted} {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.c.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.hits, s.LocalHits, "local")
	counter(c.hits, s.RedisHits, "redis")
	counter(c.misses, s.LocalMisses, "local")
	counter(c.misses, s.RedisMisses, "redis")
	counter(c.loads, s.Loads)
	counter(c.loadErrors, s.LoadErrors)
	counter(c.invalidations, s.Invalidations)
	counter(c.failed, s.FailedInvalidations)
	counter(c.redisErrors, s.RedisErrors)
	counter(c.resets, s.Resets)
	counter(c.untrusted, s.Untrusted)
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries))
	degraded := 0.0
	if s.Degraded {
		degraded = 1
	}
	ch <- prometheus.MustNewConstMetric(c.degraded, prometheus.GaugeValue, degraded)
}
