//go:build !linux

package backup

// lowPriority runs fn: only Linux lets a thread lower its own priority.
func lowPriority(fn func() error) error { return fn() }

// lowerProcess does nothing off Linux.
func lowerProcess(int) {}
