package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The monitor of the read replicas (see replica.go): every
// ReplicaCheckEvery it records the primary's WAL position and asks each
// replica whether it is in recovery and what it has replayed, and from
// those it measures each replica's lag.

// sample is the primary's WAL position at a time.
type sample struct {
	at  time.Time
	lsn uint64
}

// maxSamples bounds the primary positions kept: a replica behind the
// oldest lags more than a minute.
const maxSamples = 64

// addSample records the primary's position now.
func (rs *replicaSet) addSample(at time.Time, lsn uint64) {
	if lsn == 0 {
		return
	}
	if len(rs.samples) == maxSamples {
		rs.samples = append(rs.samples[:0], rs.samples[1:]...)
	}
	rs.samples = append(rs.samples, sample{at, lsn})
}

// lagOf returns how far behind a replica that has replayed lsn is: the
// time since the newest primary position it has reached (0 when that is
// the primary's latest), or the age of the last transaction it replayed
// (replaySec, if valid), whichever is smaller: both bound how stale it
// is. Too old to serve when neither is known.
func (rs *replicaSet) lagOf(now time.Time, lsn uint64, replaySec sql.NullFloat64) time.Duration {
	lag := rs.maxLag + time.Second
	for i := len(rs.samples) - 1; i >= 0; i-- {
		if rs.samples[i].lsn <= lsn {
			if i == len(rs.samples)-1 {
				return 0 // caught up with the last position seen
			}
			lag = now.Sub(rs.samples[i].at) // it has all that was committed by then
			break
		}
	}
	if replaySec.Valid {
		lag = min(lag, time.Duration(max(replaySec.Float64, 0)*float64(time.Second)))
	}
	return lag
}

// errNotReplica is the error of a replica URL whose server is not in
// recovery.
var errNotReplica = errors.New("the server is not in recovery: it is a primary (perhaps the primary itself), " +
	"not a streaming replica; name a standby in DATABASE_REPLICA_URLS")

// check asks r for its state and replay position and stores what it
// learned, its lag measured against the primary's recent positions.
func (rs *replicaSet) check(ctx context.Context, r *replica) error {
	ctx, cancel := context.WithTimeout(ctx, ReplicaCheckEvery)
	defer cancel()
	var inRecovery bool
	var replay sql.NullString
	var lagSec sql.NullFloat64
	err := r.pool.QueryRowContext(ctx, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "+
		"EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8").Scan(&inRecovery, &replay, &lagSec)
	switch {
	case err != nil:
		r.skip("down")
		return err
	case !inRecovery:
		r.skip("not in recovery")
		return errNotReplica
	}
	lsn, _ := parseLSN(replay.String)
	r.noteReplay(lsn)
	lag := rs.lagOf(time.Now(), lsn, lagSec)
	r.lag.Store(int64(lag))
	if lag > rs.maxLag {
		r.skip("lags " + lag.Round(time.Millisecond).String())
		return nil
	}
	r.reason.Store("")
	r.up.Store(true)
	return nil
}

func (r *replica) skip(why string) {
	r.up.Store(false)
	r.reason.Store(why)
}

// noteReplay raises the known replay position of r to lsn.
func (r *replica) noteReplay(lsn uint64) {
	for {
		old := r.replayLSN.Load()
		if lsn <= old || r.replayLSN.CompareAndSwap(old, lsn) {
			return
		}
	}
}

// monitorReplicas checks every replica every ReplicaCheckEvery and forgets
// expired write positions, until Close.
func (db *DB) monitorReplicas() {
	rs := db.replicas
	tick := time.NewTicker(ReplicaCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-rs.stop:
			return
		case <-tick.C:
		}
		rs.addSample(time.Now(), db.primaryLSN(context.Background()))
		for _, r := range rs.list {
			wasUp := r.up.Load()
			err := rs.check(context.Background(), r)
			if wasUp && !r.up.Load() {
				msg := r.reason.Load().(string)
				if err != nil {
					msg = db.sc.Err(err).Error()
				}
				db.log.Warn("read replica skipped", "replica", r.name, "reason", msg)
			}
		}
		rs.prune(time.Now())
	}
}

// primaryLSN returns the primary's current WAL position, or 0.
func (db *DB) primaryLSN(ctx context.Context) uint64 {
	ctx, cancel := context.WithTimeout(ctx, ReplicaCheckEvery)
	defer cancel()
	var s string
	if err := db.writer.QueryRowContext(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&s); err != nil {
		return 0
	}
	lsn, _ := parseLSN(s)
	return lsn
}

func (rs *replicaSet) prune(now time.Time) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for k, p := range rs.positions {
		if now.After(p.until) {
			delete(rs.positions, k)
		}
	}
}
