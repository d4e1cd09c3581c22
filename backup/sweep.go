package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// staleAfter is the age past which a temporary file is removed where its
// lock cannot tell whether its writer lives (off Unix).
const staleAfter = 24 * time.Hour

// createTemp creates a new file in dir named from pattern (as
// os.CreateTemp), readable by its owner only and locked as being written
// by this process, so that Sweep leaves it alone while the process lives
// and removes it once the process is gone, kill -9 included.
func createTemp(dir, pattern string) (*os.File, error) {
	for range 10 {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		// A sweep that found the file before its lock was taken has
		// removed it: make another.
		if sameFile(f) {
			return f, nil
		}
		f.Close()
	}
	return nil, errors.New("temporary files are removed as soon as they are made: is another program sweeping the folder?")
}

// sameFile says whether f's name still names f.
func sameFile(f *os.File) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(f.Name())
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Sweep removes from the backup folder dir what backups, verifies and
// restores that were killed or crashed left: temporary files no running
// kura holds (a partial data file or manifest, a SQLite snapshot or
// scratch copy), or off Unix those over a day old, and, at once, the
// credential files (.tmp-cred-*) that older kura versions wrote there. It returns the names it removed. Create, Verify, Restore and
// Prune sweep as they start.
func Sweep(dir string, now time.Time) ([]string, error) { return sweep(dir, now, true) }

// Leftovers returns the names Sweep would remove, and removes nothing.
func Leftovers(dir string, now time.Time) ([]string, error) { return sweep(dir, now, false) }

func sweep(dir string, now time.Time, remove bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep the backup folder: %w", err)
	}
	live := map[string]bool{}
	var dead, companions []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, tempPrefix) {
			continue
		}
		if base, ok := sqliteCompanion(name); ok {
			companions = append(companions, base, name)
			continue
		}
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, credPrefix) || isDead(path, e, now) {
			dead = append(dead, name)
		} else {
			live[name] = true
		}
	}
	// A SQLite scratch file's -wal, -shm or -journal goes with it.
	for i := 0; i < len(companions); i += 2 {
		if !live[companions[i]] {
			dead = append(dead, companions[i+1])
		}
	}
	sort.Strings(dead)
	var errs []error
	if remove {
		for _, name := range dead {
			if err := removeDead(filepath.Join(dir, name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return dead, errors.Join(errs...)
}

// sqliteCompanion returns the name of the SQLite file that name is the
// -wal, -shm or -journal file of.
func sqliteCompanion(name string) (string, bool) {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && strings.HasPrefix(base, tempPrefix) {
			return base, true
		}
	}
	return "", false
}

// isDead says whether no live process writes the temporary file at path.
func isDead(path string, e fs.DirEntry, now time.Time) bool {
	if locksWork {
		f, ok := tryLock(path)
		if ok {
			f.Close()
			return true
		}
		_, err := os.Stat(path)
		return errors.Is(err, fs.ErrNotExist) // gone already (a companion's file)
	}
	fi, err := e.Info()
	return err == nil && now.Sub(fi.ModTime()) > staleAfter
}

// removeDead removes a dead temporary file, holding its lock so that a
// writer that has just made it (and not locked it yet) makes another.
func removeDead(path string) error {
	name := filepath.Base(path)
	if _, companion := sqliteCompanion(name); locksWork && !companion && !strings.HasPrefix(name, credPrefix) {
		f, ok := tryLock(path)
		if !ok {
			return nil // taken since: alive after all
		}
		defer f.Close()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// sweepLogged sweeps cfg.Dir and logs what it removed.
func sweepLogged(cfg Config) {
	removed, err := Sweep(cfg.Dir, cfg.Now())
	if len(removed) > 0 {
		cfg.Logger.Warn("backup: removed what killed backups left in the backup folder", "files", removed)
	}
	if err != nil {
		cfg.Logger.Warn("backup: could not sweep the backup folder", "err", err)
	}
}

// sweepPartials removes the dead temporary files named prefix… in dir (a
// SQLite restore's partial copies beside its target, left by a restore
// that was killed), and logs them.
func sweepPartials(dir, prefix string, cfg Config) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var removed []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix) {
			continue
		}
		if base, ok := sqliteCompanion(name); ok && strings.HasPrefix(base, prefix) {
			name = base
		}
		if !isDead(filepath.Join(dir, name), e, cfg.Now()) {
			continue
		}
		if err := removeDead(filepath.Join(dir, e.Name())); err == nil {
			removed = append(removed, e.Name())
		}
	}
	if len(removed) > 0 {
		cfg.Logger.Warn("backup: removed what a killed restore left beside its target", "files", removed)
	}
}
