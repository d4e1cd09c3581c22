package sqldb

import (
	"database/sql"
	"sync"
	"time"
)

// setPool applies the pool settings of the config to a server pool.
//
// database/sql closes a returned connection at once when more than
// MaxIdleConns are idle. Mapping PoolSize onto MaxIdleConns, as the guide's
// vocabulary suggests, therefore makes a pool under a load above PoolSize
// open and close a connection for nearly every query: measured on
// PostgreSQL with 32 concurrent clients, that churn cost 60% of the
// throughput and put p99 at half a second (docs/BENCHMARKS.md). So every
// connection up to PoolSize+MaxOverflow stays open while it is being
// reused, and the overflow is handed back when load drops: every
// ConnMaxIdle, idle connections beyond PoolSize are closed (see trimmer).
func (db *DB) setPool(p *sql.DB) {
	open := db.cfg.PoolSize + db.cfg.MaxOverflow
	p.SetMaxOpenConns(open)
	p.SetMaxIdleConns(open)
	p.SetConnMaxLifetime(max(db.cfg.ConnMaxAge, 0))
	if db.cfg.MaxOverflow > 0 && db.cfg.ConnMaxIdle > 0 {
		db.trim.start(p, db.cfg.PoolSize, open, db.cfg.ConnMaxIdle)
	}
}

// trimmer closes the idle overflow connections of a pool now and then, so
// that after a burst the pool shrinks back to its PoolSize.
type trimmer struct {
	stop chan struct{}
	done sync.WaitGroup
}

func (t *trimmer) start(p *sql.DB, keep, open int, every time.Duration) {
	t.stop = make(chan struct{})
	t.done.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				trimIdle(p, keep, open)
			}
		}
	})
}

// trimIdle closes the idle connections of p beyond keep: lowering
// MaxIdleConns closes the excess at once; raising it again lets the pool
// keep up to open connections for the next burst.
func trimIdle(p *sql.DB, keep, open int) {
	if p.Stats().Idle > keep {
		p.SetMaxIdleConns(keep)
		p.SetMaxIdleConns(open)
	}
}

// stopTrim stops the trimmer, if it runs, and waits for it. It may be
// called more than once.
func (db *DB) stopTrim() {
	if db.trim.stop != nil {
		select {
		case <-db.trim.stop:
		default:
			close(db.trim.stop)
		}
		db.trim.done.Wait()
	}
}
