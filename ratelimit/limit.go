package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit is a rate: at most Events events in any Per, taken at once or
// spread out, refilled evenly (one every Per/Events). A Limit with Events
// or Per zero or less is no limit.
type Limit struct {
	Events int
	Per    time.Duration
}

// NoLimit is the limit that limits nothing, as ParseLimit reads "off".
// It is not the zero Limit, so that a configuration can tell a limit
// turned off from one left to its default.
var NoLimit = Limit{Events: -1}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Events <= 0 || l.Per <= 0 }

// Interval is the time one event takes to refill: Per/Events.
func (l Limit) Interval() time.Duration { return l.Per / time.Duration(l.Events) }

// String returns l as ParseLimit reads it, such as "10/3m", or "off".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	per := l.Per.String()
	switch {
	case l.Per%time.Hour == 0:
		per = strconv.FormatInt(int64(l.Per/time.Hour), 10) + "h"
	case l.Per%time.Minute == 0:
		per = strconv.FormatInt(int64(l.Per/time.Minute), 10) + "m"
	}
	return strconv.Itoa(l.Events) + "/" + per
}

// ParseLimit reads a limit written as EVENTS/PERIOD, the period a Go
// duration ("10/3m", "600/1m", "5/1h"); "off" or "0" is NoLimit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return NoLimit, nil
	}
	n, per, ok := strings.Cut(s, "/")
	events, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || events < 1 {
		return Limit{}, errors.New("want EVENTS/PERIOD, such as 10/3m, or off")
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("%q is not a positive period: want a Go duration such as 3m, 1h or 1s", per)
	}
	if d/time.Duration(events) < time.Microsecond {
		return Limit{}, errors.New("more than a million events a second: want off instead")
	}
	return Limit{Events: events, Per: d}, nil
}

// A Limiter counts events per key against limits. Its methods are safe
// for concurrent use and never fail: a limiter whose shared store is out
// of reach falls back to counting in its own process.
type Limiter interface {
	// Allow takes one event from key's allowance under l. When none is
	// left it takes nothing and returns false and how long until one is.
	// It is Reserve with a maxWait of 0.
	Allow(ctx context.Context, key string, l Limit) (ok bool, wait time.Duration)
	// Reserve takes one event from key's allowance under l whose slot
	// may lie up to maxWait ahead: it returns true and the wait until that
	// slot (0 when an event is left now), and the caller waits that long
	// before acting. When the next slot lies further ahead it takes
	// nothing and returns false and the wait until that slot. Unlike
	// checking Delay first and Allow after, one call both decides and
	// takes, so that parallel callers cannot all pass one free slot.
	Reserve(ctx context.Context, key string, l Limit, maxWait time.Duration) (ok bool, wait time.Duration)
	// Delay returns how long until key has an event left under l (0 when
	// it has one now), taking nothing.
	Delay(ctx context.Context, key string, l Limit) time.Duration
}

// None is a Limiter that allows everything: limits turned off.
type None struct{}

// Allow returns true.
func (None) Allow(context.Context, string, Limit) (bool, time.Duration) { return true, 0 }

// Reserve returns true and no wait.
func (None) Reserve(context.Context, string, Limit, time.Duration) (bool, time.Duration) {
	return true, 0
}

// Delay returns 0.
func (None) Delay(context.Context, string, Limit) time.Duration { return 0 }
