//go:build unix

package backup

import (
	"os"
	"syscall"
)

// locksWork says whether a temporary file's lock tells a live writer from
// a dead one here.
const locksWork = true

// lockFile takes the lock that marks f as being written by a live process,
// waiting while a sweep holds it. The lock goes with the process, kill -9
// included.
func lockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }

// tryLock takes the lock of the file at path if no live process holds it,
// and returns the file that holds it then (close it to let go).
func tryLock(path string) (*os.File, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}
