//go:build unix && !linux

package sqldb

import (
	"errors"
	"syscall"
	"time"
)

// processGone reports whether no process pid runs: signal 0 asks without
// sending anything.
func processGone(pid int, _ time.Time) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
