package backup

import (
	"runtime"
	"syscall"
)

// niceness is the CPU priority of a backup's work: the lowest, so that on
// a small machine the application's threads win the cores.
const niceness = 19

// lowPriority runs fn on an OS thread of its own at the lowest CPU
// priority. The thread stays locked to the goroutine, so it ends with it
// and its priority never reaches the application's goroutines (an
// unprivileged process cannot raise it back).
func lowPriority(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), niceness)
		errc <- fn()
	}()
	return <-errc
}

// lowerProcess gives a child process (pg_dump, mariadb-dump, their
// restores) the same priority.
func lowerProcess(pid int) { syscall.Setpriority(syscall.PRIO_PROCESS, pid, niceness) }

// childAttr makes a child program die with this process: a backup or
// restore killed with SIGKILL leaves no dump program running on, and a
// restore's program dies before it could finish what kura would not
// check.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
