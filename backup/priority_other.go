//go:build !linux

package backup

import "syscall"

// lowPriority runs fn: only Linux lets a thread lower its own priority.
func lowPriority(fn func() error) error { return fn() }

// lowerProcess does nothing off Linux.
func lowerProcess(int) {}

// childAttr: only Linux can make a child die with its parent.
func childAttr() *syscall.SysProcAttr { return nil }
