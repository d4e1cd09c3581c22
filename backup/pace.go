package backup

import (
	"context"
	"io"
	"time"
)

// duty is the share of the time a backup's own loops (checksums,
// compression, hashing, reading a dump program's output, and so the
// program and its server backend behind it) work: they rest twice as long
// as they worked, so that on a machine of two cores the application's
// requests, its garbage collector and the database server keep most of
// the CPU. A backup takes about three times as long for it; the writes'
// p99 during one is measured in docs/BENCHMARKS.md.
const duty = 1.0 / 3

// pacer makes a loop rest in proportion to the time it worked.
type pacer struct {
	since time.Time
}

// paceEvery is how long a loop works before it rests.
const paceEvery = 5 * time.Millisecond

// tick is called often in a loop; past paceEvery of work it rests.
func (p *pacer) tick(ctx context.Context) error {
	now := time.Now()
	if p.since.IsZero() {
		p.since = now
		return nil
	}
	worked := now.Sub(p.since)
	if worked < paceEvery {
		return nil
	}
	t := time.NewTimer(time.Duration(float64(worked) * (1 - duty) / duty))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	p.since = time.Now()
	return nil
}

// pacedReader reads from r at the pacer's pace, and stops once ctx is done.
type pacedReader struct {
	ctx context.Context
	r   io.Reader
	p   pacer
}

func (c *pacedReader) Read(b []byte) (int, error) {
	if err := c.p.tick(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
