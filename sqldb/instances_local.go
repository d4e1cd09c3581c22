package sqldb

import (
	"os"
	"time"
)

// gone reports whether the instance row of host, pid and start time names a
// process of this machine that no longer runs: one killed without the
// chance to delete its row. A row of another machine is never gone here
// (its heartbeat decides), nor one whose process cannot be looked at.
func gone(host string, pid int, started time.Time) bool {
	me, err := os.Hostname()
	if err != nil || host != me || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return processGone(pid, started)
}
