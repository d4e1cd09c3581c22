package backup

import (
	"fmt"
	"os"
	"path/filepath"
)

// secret is a credential for a dump program, handed over as a file the
// program reads by path. It never touches the backup folder: on Linux it
// is an anonymous memory file the child inherits as its descriptor 3
// (Path is /dev/fd/3), which no folder holds and which vanishes with the
// last process that has it open, kill -9 included; elsewhere it is a 0600
// file in a private 0700 folder of the system's temporary space, removed
// when the program exits.
type secret struct {
	Path  string   // what the program is told to read
	file  *os.File // passed to the program as descriptor 3; nil when Path is a file
	clean func()
}

// credPrefix started the names of the credential files that older kura
// versions wrote into the backup folder; Sweep removes any left there.
const credPrefix = tempPrefix + "cred-"

// newSecret makes a secret holding content.
func newSecret(content string) (*secret, error) {
	if f, err := memFile(content); err == nil {
		return &secret{Path: "/dev/fd/3", file: f, clean: func() { f.Close() }}, nil
	}
	dir, err := os.MkdirTemp("", "kura-cred-")
	if err != nil {
		return nil, fmt.Errorf("create a private folder for the credentials: %w", err)
	}
	clean := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "client.cnf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		clean()
		return nil, fmt.Errorf("write the credentials: %w", err)
	}
	return &secret{Path: path, clean: clean}, nil
}

// Close forgets the secret: the memory file's descriptor is closed, the
// private folder removed.
func (s *secret) Close() {
	if s != nil {
		s.clean()
	}
}
