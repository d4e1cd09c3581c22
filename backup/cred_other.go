//go:build !linux

package backup

import (
	"errors"
	"os"
)

// memFile: there are no anonymous memory files here; newSecret uses a
// private folder instead.
func memFile(string) (*os.File, error) { return nil, errors.ErrUnsupported }
