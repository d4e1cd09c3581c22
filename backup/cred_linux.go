package backup

import (
	"os"

	"golang.org/x/sys/unix"
)

// memFile returns an anonymous memory file (memfd) holding content, mode
// 0600: a regular file for the programs' checks (libpq reads a password
// file only if it is one, and only if others cannot read it), which exists
// in no folder.
func memFile(content string) (*os.File, error) {
	fd, err := unix.MemfdCreate("kura-credentials", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "kura-credentials")
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
