package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kura-dev/kura"
)

// Read replicas (PostgreSQL only). A read that may be slightly stale (a
// public profile, a list, the stats) runs on a replica whose lag is within
// Config.ReplicaMaxLag, else on the primary. A caller always reads its own
// writes: after a transaction of a signed-in user commits, the primary's
// WAL insert position is remembered for that user, and a read of theirs
// uses a replica only once the replica has replayed that position, waiting
// for it at most Config.ReplicaWait, else it runs on the primary. A
// monitor checks every replica every ReplicaCheckEvery; one that is down,
// promoted, or lags past the bound is skipped until it is back, and a read
// that fails on a replica runs again on the primary: a replica never fails
// a request.

// PositionStore keeps the position of each caller's last write where
// every instance finds it (Config.Positions). An error means unknown: the
// caller's reads then go to the primary.
type PositionStore interface {
	SetPosition(ctx context.Context, caller string, lsn uint64, ttl time.Duration) error
	Position(ctx context.Context, caller string) (lsn uint64, ok bool, err error)
}

// ReplicaCheckEvery is how often the monitor asks each replica for its
// state and replay position.
const ReplicaCheckEvery = time.Second

// replica is one read replica: its own pool and gate, and what the monitor
// last learned of it.
type replica struct {
	name string // host:port/database, no credentials
	pool *sql.DB
	gate gate

	up        atomic.Bool   // answered the last check, in recovery
	lag       atomic.Int64  // nanoseconds behind the primary at the last check
	replayLSN atomic.Uint64 // highest replay position seen
	reason    atomic.Value  // string: why it is skipped, "" if it is not
	reads     atomic.Int64  // reads served
}

// replicaSet is the DB's replicas, the monitor, and the write positions of
// recent writers.
type replicaSet struct {
	list   []*replica
	maxLag time.Duration
	wait   time.Duration
	next   atomic.Uint32 // round robin
	log    *slog.Logger
	shared PositionStore // nil: positions in this process only

	primaryReads atomic.Int64 // stale-ok reads that ran on the primary

	mu        sync.Mutex
	positions map[string]position // caller -> their last write
	samples   []sample            // the primary's recent WAL positions, oldest first (monitor only)

	stop chan struct{}
	done sync.WaitGroup
}

// position is the WAL position after a caller's last write, remembered
// until the replicas' lag bound guarantees it everywhere.
type position struct {
	lsn   uint64
	until time.Time
}

// openReplicas opens a pool per replica URL and checks each once: a server
// that answers and is not in recovery is refused (it is a primary, most
// likely the primary itself); one that does not answer is skipped until
// the monitor finds it up.
func (db *DB) openReplicas(ctx context.Context) error {
	rs := &replicaSet{maxLag: db.cfg.ReplicaMaxLag, wait: db.cfg.ReplicaWait, log: db.log, shared: db.cfg.Positions,
		positions: map[string]position{}, stop: make(chan struct{})}
	for _, u := range db.cfg.ReplicaURLs {
		r, err := db.openReplica(u)
		if err != nil {
			rs.close()
			return err
		}
		rs.list = append(rs.list, r)
	}
	db.replicas = rs
	rs.addSample(time.Now(), db.primaryLSN(ctx))
	for _, r := range rs.list {
		if err := rs.check(ctx, r); errors.Is(err, errNotReplica) {
			rs.close()
			db.replicas = nil
			return db.sc.Err(fmt.Errorf("replica %s: %w", r.name, err))
		} else if err != nil {
			db.log.Warn("read replica skipped until it answers", "replica", r.name, "error", db.sc.Err(err).Error())
		}
	}
	rs.done.Go(func() { db.monitorReplicas() })
	return nil
}

func (db *DB) openReplica(rawURL string) (*replica, error) {
	name := RedactURL(rawURL)
	cc, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, db.sc.Err(fmt.Errorf("replica %s: %w", name, err))
	}
	name = cc.Host + ":" + strconv.Itoa(int(cc.Port)) + "/" + cc.Database
	if cc.ConnectTimeout == 0 || cc.ConnectTimeout > ConnectTimeout {
		cc.ConnectTimeout = ConnectTimeout
	}
	if err := db.checkTransport(postgresTransport(cc)); err != nil {
		return nil, db.sc.Err(fmt.Errorf("replica %s: %w", name, err))
	}
	p := stdlib.OpenDB(*cc, stdlib.OptionShouldPing(func(_ context.Context, p stdlib.ShouldPingParams) bool {
		return p.IdleDuration > time.Second
	}), stdlib.OptionAfterConnect(scanTimesInUTC))
	open := db.cfg.PoolSize + db.cfg.MaxOverflow
	p.SetMaxOpenConns(open)
	p.SetMaxIdleConns(db.cfg.PoolSize)
	p.SetConnMaxLifetime(max(db.cfg.ConnMaxAge, 0))
	r := &replica{name: name, pool: p, gate: make(gate, open)}
	r.reason.Store("not checked yet")
	return r, nil
}

// close stops the monitor and closes the pools.
func (rs *replicaSet) close() error {
	select {
	case <-rs.stop:
	default:
		close(rs.stop)
	}
	rs.done.Wait()
	var err error
	for _, r := range rs.list {
		err = errors.Join(err, r.pool.Close())
	}
	return err
}

// callerKey names the caller of ctx whose writes are remembered and whose
// reads must see them: the signed-in user, or "" for none.
func callerKey(ctx context.Context) string {
	if u := kura.UserFromContext(ctx); u != nil {
		return userCaller(u.ID)
	}
	return ""
}

func userCaller(id int64) string { return "u" + strconv.FormatInt(id, 10) }

// noteWrite remembers the primary's WAL insert position, read on c right
// after a commit, as the position caller's next reads must see.
func (db *DB) noteWrite(ctx context.Context, c *sql.Conn, caller string) {
	var s string
	if err := c.QueryRowContext(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&s); err != nil {
		// Unknown: the caller reads from the primary for the lag bound.
		s = "FFFFFFFF/FFFFFFFF"
	}
	lsn, _ := parseLSN(s)
	rs := db.replicas
	ttl := rs.maxLag + 2*ReplicaCheckEvery
	rs.mu.Lock()
	rs.positions[caller] = position{lsn: lsn, until: time.Now().Add(ttl)}
	rs.mu.Unlock()
	if rs.shared != nil {
		if err := rs.shared.SetPosition(ctx, caller, lsn, ttl); err != nil {
			db.log.Warn("could not share a write's position; another instance may serve its writer a replica older than the write",
				"error", db.sc.Err(err).Error())
		}
	}
}

// pick returns the replica a stale-ok read of ctx's caller runs on, or nil
// for the primary: one up and within the lag bound that has replayed the
// caller's last write, waiting for that at most ReplicaWait.
func (rs *replicaSet) pick(ctx context.Context) *replica {
	if kura.FreshReads(ctx) {
		return nil
	}
	var need uint64
	if caller := callerKey(ctx); caller != "" {
		rs.mu.Lock()
		p, ok := rs.positions[caller]
		rs.mu.Unlock()
		if ok && time.Now().Before(p.until) {
			need = p.lsn
		} else if rs.shared != nil {
			lsn, _, err := rs.shared.Position(ctx, caller)
			if err != nil {
				return nil // unknown: the primary has every write
			}
			need = lsn
		}
	}
	n := len(rs.list)
	start := int(rs.next.Add(1))
	var waitable *replica
	for i := range n {
		r := rs.list[(start+i)%n]
		if !r.up.Load() {
			continue
		}
		if r.replayLSN.Load() >= need {
			return r
		}
		if waitable == nil && time.Duration(r.lag.Load()) <= rs.wait {
			waitable = r
		}
	}
	if waitable != nil && rs.waitReplay(ctx, waitable, need) {
		return waitable
	}
	return nil
}

// waitReplay waits at most ReplicaWait for r to replay lsn, asking it
// every few milliseconds, and reports whether it did.
func (rs *replicaSet) waitReplay(ctx context.Context, r *replica, lsn uint64) bool {
	ctx, cancel := context.WithTimeout(ctx, rs.wait)
	defer cancel()
	for pause := 2 * time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		var s sql.NullString
		if err := r.pool.QueryRowContext(ctx, "SELECT pg_last_wal_replay_lsn()::text").Scan(&s); err != nil {
			return false
		}
		got, _ := parseLSN(s.String)
		r.noteReplay(got)
		if got >= lsn {
			return true
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// staleRead runs a read that may be slightly stale: on a replica chosen by
// pick, and again on the primary if it fails there for any reason but
// "no rows"; on the primary when none fits. Without replicas it is one
// nil check and a call.
func (db *DB) staleRead(ctx context.Context, read func(pool *sql.DB) error) error {
	rs := db.replicas
	if rs == nil {
		return read(db.reader)
	}
	if r := rs.pick(ctx); r != nil {
		err := read(r.pool)
		if err == nil || errors.Is(err, sql.ErrNoRows) || ctx.Err() != nil {
			r.reads.Add(1)
			return err
		}
		if r.up.CompareAndSwap(true, false) { // log once per failure, not per read
			r.reason.Store("failed a read")
			db.log.Warn("read replica failed a read; skipped until it answers, reading from the primary",
				"replica", r.name, "error", db.sc.Err(err).Error())
		}
	}
	rs.primaryReads.Add(1)
	return read(db.reader)
}

// replicaGate returns the gate of the replica whose pool is p, or nil.
func (db *DB) replicaGate(p *sql.DB) gate {
	if db.replicas != nil {
		for _, r := range db.replicas.list {
			if r.pool == p {
				return r.gate
			}
		}
	}
	return nil
}

// parseLSN parses a PostgreSQL WAL position, "16/B374D848".
func parseLSN(s string) (uint64, error) {
	var hi, lo uint32
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0, fmt.Errorf("parse LSN %q: %w", s, err)
	}
	return uint64(hi)<<32 | uint64(lo), nil
}

// ReplicaStats is a snapshot of one read replica.
type ReplicaStats struct {
	Name    string        // host:port/database, no credentials
	InUse   bool          // up, in recovery and within the lag bound
	Lag     time.Duration // behind the primary at the last check
	Skipped string        // why it is skipped ("down", "lags 3s", ...), "" when InUse
	Reads   int64         // reads it served
}

// ReplicaStats returns a snapshot of each read replica, in the order of
// Config.ReplicaURLs; nil without replicas.
func (db *DB) ReplicaStats() []ReplicaStats {
	if db.replicas == nil {
		return nil
	}
	out := make([]ReplicaStats, 0, len(db.replicas.list))
	for _, r := range db.replicas.list {
		reason, _ := r.reason.Load().(string)
		out = append(out, ReplicaStats{Name: r.name, InUse: r.up.Load(), Lag: time.Duration(r.lag.Load()),
			Skipped: reason, Reads: r.reads.Load()})
	}
	return out
}

// PrimaryStaleReads returns how many reads that could have run on a
// replica ran on the primary (none fit, or the replica failed them).
func (db *DB) PrimaryStaleReads() int64 {
	if db.replicas == nil {
		return 0
	}
	return db.replicas.primaryReads.Load()
}
