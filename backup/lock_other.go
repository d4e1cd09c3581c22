//go:build !unix

package backup

import "os"

// locksWork: without flock, Sweep goes by a temporary file's age.
const locksWork = false

func lockFile(*os.File) error { return nil }

func tryLock(string) (*os.File, bool) { return nil, false }
