package app

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/kura-dev/kura/console"
	"github.com/kura-dev/kura/httpapi"
)

// traffic counts this process's requests for the console's overview:
// totals, and the last minute in one-second slots, without a lock.
type traffic struct {
	total, errors atomic.Int64
	slots         [60]struct{ sec, n, errs atomic.Int64 }
}

// observe counts one answered request; a 5xx is an error.
func (t *traffic) observe(ri httpapi.RequestInfo) {
	t.total.Add(1)
	failed := ri.Status >= 500
	if failed {
		t.errors.Add(1)
	}
	now := time.Now().Unix()
	s := &t.slots[now%60]
	if old := s.sec.Load(); old != now && s.sec.CompareAndSwap(old, now) {
		s.n.Store(0)
		s.errs.Store(0)
	}
	s.n.Add(1)
	if failed {
		s.errs.Add(1)
	}
}

// lastMinute returns the requests and errors of the last 60 seconds.
func (t *traffic) lastMinute() (n, errs int64) {
	now := time.Now().Unix()
	for i := range t.slots {
		s := &t.slots[i]
		if now-s.sec.Load() < 60 {
			n += s.n.Load()
			errs += s.errs.Load()
		}
	}
	return n, errs
}

// figures are the overview's request figures.
func (t *traffic) figures() []console.Figure {
	n, errs := t.lastMinute()
	return []console.Figure{
		{Group: "Requests", Name: "last minute", Value: fmt.Sprintf("%d (%.2f/s), %d errors (5xx)", n, float64(n)/60, errs)},
		{Group: "Requests", Name: "since start", Value: fmt.Sprintf("%d, %d errors (5xx)", t.total.Load(), t.errors.Load())},
	}
}
