package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// The MySQL queue's loops while its workers run: fetch and launch, the
// record of an attempt's end, cancellation, rescue and periodic jobs. See
// the comment at the top of mysql.go.

// fetchLoop takes due jobs while slots are free. pending means there may
// be due jobs it has not taken: set by a tick or a wake-up, cleared when a
// fetch finds fewer than it asked for.
func (r *mysqlRun) fetchLoop() {
	b := r.b
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	pending := true
	for {
		if pending {
			if free := r.free(); free > 0 {
				n, err := r.fetch(free)
				if err != nil {
					if r.loopCtx.Err() != nil {
						return
					}
					b.log.Warn("jobs: fetch failed; trying again at the next poll", "err", err)
					pending = false
				} else {
					pending = n == free
				}
			}
		}
		var freed chan struct{}
		if pending {
			freed = r.freed // full: take more as soon as a slot frees
		}
		select {
		case <-r.loopCtx.Done():
			return
		case <-tick.C:
			pending = true
			r.checkCancelled()
		case <-r.wake:
			pending = true
		case <-freed:
		}
	}
}

func (r *mysqlRun) free() int {
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	return r.b.cfg.Concurrency - r.inflight
}

// fetch takes at most n due jobs, marks them running and starts them. It
// runs on a context detached from the stop: a fetch that took jobs always
// hands them to workers.
func (r *mysqlRun) fetch(n int) (int, error) {
	b := r.b
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.loopCtx), mysqlFetchTimeout)
	defer cancel()
	var rows []*Row
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		now := b.now()
		ids, err := tx.QueryContext(ctx, mysqlFetch, now, n)
		if err != nil {
			return err
		}
		taken, err := sqldb.ScanAll(ids, scanID)
		if err != nil || len(taken) == 0 {
			return err
		}
		in, args := inList(taken)
		_, err = tx.ExecContext(ctx, `UPDATE kura_jobs SET state = 'running', attempt = attempt + 1,
			attempted_at = ?, attempted_by = ? WHERE id IN (`+in+`)`, append([]any{now, b.id}, args...)...)
		if err != nil {
			return err
		}
		rows, err = queryRows(ctx, tx, `SELECT `+jobColumns+` FROM kura_jobs WHERE id IN (`+in+`)
			ORDER BY priority, scheduled_at, id`, args...)
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		r.launch(row)
	}
	return len(rows), nil
}

// launch runs one attempt in a goroutine of its own.
func (r *mysqlRun) launch(row *Row) {
	b := r.b
	cctx, cancelCause := context.WithCancelCause(r.ctx)
	timeout := b.cfg.JobTimeout
	if u := b.units[row.Kind]; u != nil && u.timeout > 0 {
		timeout = u.timeout
	}
	ctx, cancel := context.WithTimeout(cctx, timeout)
	a := &mysqlAttempt{run: r, attempt: row.Attempt, cancel: func() { cancelCause(errJobCancelled) }}
	b.mu.Lock()
	b.running[row.ID] = a
	r.inflight++
	b.mu.Unlock()
	r.jobs.Add(1)
	go func() {
		defer r.jobs.Done()
		u := b.units[row.Kind]
		if u == nil {
			kind := row.Kind
			u = &unit{kind: kind, work: func(context.Context, *Row) error {
				return fmt.Errorf("no worker for job kind %s", kind)
			}}
		}
		err := b.run(ctx, u, row)
		cancel()
		cancelCause(nil)
		b.finish(r.ctx, row, err)
		b.mu.Lock()
		if b.running[row.ID] == a {
			delete(b.running, row.ID)
		}
		r.inflight--
		b.mu.Unlock()
		signal(r.freed)
	}()
}

// finish records the end of an attempt: completed, or the error appended
// and the job retryable after its backoff (discarded after its last
// attempt). The write is retried a few times; if it still fails the job
// stays running, and is released when this process stops beating, or
// rescued after RescueAfter if it goes on.
func (b *mysqlBackend) finish(parent context.Context, row *Row, err error) {
	q, args, err := b.finishQuery(row, err)
	if err != nil {
		b.log.Error("jobs: encode an attempt's error", "job_id", row.ID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), mysqlWriteWait)
	defer cancel()
	wait := 50 * time.Millisecond
	for try := 1; ; try++ {
		_, werr := b.db.Writer().ExecContext(ctx, q, args...)
		if werr == nil {
			// No row matched: the job was cancelled or rescued meanwhile,
			// and is left as that made it.
			return
		}
		if try == mysqlWriteTries || ctx.Err() != nil {
			b.log.Error("jobs: could not record the end of an attempt; the job stays running until it is rescued after RescueAfter",
				"job_id", row.ID, "kind", row.Kind, "attempt", row.Attempt, "err", werr)
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait *= 2
	}
}

// finishQuery returns the write that records the end of an attempt that
// returned err.
func (b *mysqlBackend) finishQuery(row *Row, err error) (string, []any, error) {
	now := b.now()
	if err == nil {
		return mysqlComplete, []any{now, row.ID, row.Attempt}, nil
	}
	ae := AttemptError{At: now, Attempt: row.Attempt, Error: err.Error()}
	if pe, ok := errors.AsType[*PanicError](err); ok {
		ae.Trace = pe.Stack
	}
	enc, err := json.Marshal([]AttemptError{ae})
	if err != nil {
		return "", nil, err
	}
	state, scheduled, finalized := StateRetryable, any(nil), any(nil)
	if row.Attempt >= row.MaxAttempts {
		state, finalized = StateDiscarded, now
	} else {
		scheduled = now.Add(b.cfg.Backoff(row.Attempt)).Truncate(time.Microsecond)
	}
	return mysqlFail, []any{string(state), scheduled, finalized, string(enc), row.ID, row.Attempt}, nil
}

// checkCancelled cancels the contexts of the attempts this run is working
// whose jobs another client cancelled.
func (r *mysqlRun) checkCancelled() {
	b := r.b
	b.mu.Lock()
	var ids []int64
	for id, a := range b.running {
		if a.run == r {
			ids = append(ids, id)
		}
	}
	b.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	in, args := inList(ids)
	rows, err := b.db.Reader().QueryContext(r.loopCtx,
		`SELECT id, attempt FROM kura_jobs WHERE id IN (`+in+`) AND state = 'cancelled'`, args...)
	if err == nil {
		type jobAttempt struct {
			id      int64
			attempt int
		}
		var cancelled []jobAttempt
		cancelled, err = sqldb.ScanAll(rows, func(s sqldb.Scanner) (jobAttempt, error) {
			var a jobAttempt
			err := s.Scan(&a.id, &a.attempt)
			return a, err
		})
		for _, a := range cancelled {
			b.cancelAttempt(a.id, a.attempt)
		}
	}
	if err != nil && r.loopCtx.Err() == nil {
		b.log.Warn("jobs: check for cancelled jobs", "err", err)
	}
}

// cancelAttempt ends the context of the attempt of job id this client
// runs, if any (attempt 0: whichever).
func (b *mysqlBackend) cancelAttempt(id int64, attempt int) {
	b.mu.Lock()
	a := b.running[id]
	b.mu.Unlock()
	if a != nil && (attempt == 0 || a.attempt == attempt) {
		a.cancel()
	}
}

// rescueInterval is how often the rescuer looks: a quarter of RescueAfter
// between 100ms and a minute.
func (b *mysqlBackend) rescueInterval() time.Duration {
	return min(max(b.cfg.RescueAfter/4, 100*time.Millisecond), time.Minute)
}

func (r *mysqlRun) rescueLoop() {
	b := r.b
	tick := time.NewTicker(b.rescueInterval())
	defer tick.Stop()
	for {
		if n, err := b.rescue(r.loopCtx); err != nil {
			if r.loopCtx.Err() != nil {
				return
			}
			b.log.Warn("jobs: rescue failed", "err", err)
		} else if n > 0 {
			b.log.Warn("jobs: rescued jobs that ran longer than RescueAfter", "jobs", n, "rescue_after", b.cfg.RescueAfter)
		}
		select {
		case <-r.loopCtx.Done():
			return
		case <-tick.C:
		}
	}
}

// rescue makes the jobs running for longer than RescueAfter retryable now,
// or discarded when out of attempts, and returns how many.
func (b *mysqlBackend) rescue(ctx context.Context) (int64, error) {
	now := b.now()
	var n int64
	err := b.readCommittedTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, mysqlRescue,
			now.Format(time.RFC3339Nano), rescueMessage, now, now, now.Add(-b.cfg.RescueAfter))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// periodicLoop enqueues p's job once per period: the period is now
// truncated to Every, and its start names the job's unique key, so every
// process enqueueing the same period inserts one job. A failed insert is
// tried again at the next poll while its period lasts.
func (r *mysqlRun) periodicLoop(p PeriodicJob) {
	b := r.b
	period := b.now().Truncate(p.Every)
	owed := p.RunOnStart
	for {
		if owed {
			if err := b.enqueuePeriodic(r.loopCtx, p, period); err != nil {
				if r.loopCtx.Err() != nil {
					return
				}
				b.log.Warn("jobs: enqueue a periodic job", "err", err)
			} else {
				owed = false
			}
		}
		wait := period.Add(p.Every).Sub(b.now())
		if owed {
			wait = min(wait, b.cfg.PollInterval)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-r.loopCtx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if next := b.now().Truncate(p.Every); next.After(period) {
			period, owed = next, true
		}
	}
}

func (b *mysqlBackend) enqueuePeriodic(ctx context.Context, p PeriodicJob, period time.Time) error {
	args := p.Args()
	if args == nil || args.Kind() == "" {
		return errors.New("periodic job args without a kind")
	}
	_, q, params, err := b.insertQuery(args, EnqueueOpts{MaxAttempts: b.cfg.MaxAttempts, Priority: 1}, args.Kind()+":"+periodKey(period))
	if err != nil {
		return err
	}
	if _, err := b.db.Writer().ExecContext(ctx, q, params...); err != nil {
		return fmt.Errorf("%s: %w", args.Kind(), err)
	}
	b.wake()
	return nil
}

// periodKey is a period's start in Unix seconds, with a fraction for
// periods shorter than a second.
func periodKey(t time.Time) string {
	s := strconv.FormatInt(t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%09d", ns), "0")
	}
	return s
}
