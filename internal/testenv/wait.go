package testenv

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// WaitTimeout is how long Wait waits by default: long enough for a slow CI
// machine under the race detector, short enough that a broken test ends.
const WaitTimeout = 30 * time.Second

// Wait waits until cond returns true, checking at once and then at short,
// growing intervals (1 ms up to 50 ms), and fails tb with what and the
// time waited if it does not within timeout (zero means WaitTimeout).
// Tests wait on a condition this way instead of sleeping for a fixed time.
func Wait(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if err := WaitErr(timeout, cond); err != nil {
		tb.Fatalf("waiting for %s: %v", what, err)
	}
}

// WaitErr is Wait for code that must not call tb from its goroutine: it
// returns an error instead of failing the test.
func WaitErr(timeout time.Duration, cond func() bool) error {
	if timeout <= 0 {
		timeout = WaitTimeout
	}
	start := time.Now()
	deadline := start.Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return &waitError{took: time.Since(start)}
		}
		time.Sleep(pause)
	}
}

type waitError struct{ took time.Duration }

func (e *waitError) Error() string {
	return "not true after " + e.took.Round(time.Millisecond).String()
}

// VerifyNoLeaks runs a package's tests and then fails the run if
// goroutines are left behind: call it from TestMain as
//
//	func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }
//
// Goroutines of long-lived pools that database drivers keep for the life of
// the process are not counted.
func VerifyNoLeaks(m *testing.M, opts ...goleak.Option) {
	goleak.VerifyTestMain(m, append(ignoredGoroutines(), opts...)...)
}

func ignoredGoroutines() []goleak.Option {
	return []goleak.Option{
		// database/sql's connection opener lives until its DB is closed;
		// a test that leaks a DB is caught by its own Cleanup instead.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	}
}
