package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
)

// makeDir creates the backup folder readable by its owner only. An existing
// folder keeps its mode, but one that others can read is refused: the
// backups hold password hashes.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the backup folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("the backup folder %s is not a folder", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("the backup folder %s is open to other users (%v) and cannot be closed: %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// partial is a file being written under a temporary name in the backup
// folder: it becomes the named file only once Commit has synced and
// renamed it. Abort (or a crash) leaves no file under the final name.
type partial struct {
	f     *os.File
	final string
	n     int64
	sum   hash.Hash
	done  bool
}

// tempPrefix starts the names of files still being written; Sweep removes
// those whose writer is gone.
const tempPrefix = ".tmp-"

func createPartial(final string) (*partial, error) {
	f, err := createTemp(filepath.Dir(final), tempPrefix+filepath.Base(final)+"-*")
	if err != nil {
		return nil, fmt.Errorf("create backup file: %w", err)
	}
	return &partial{f: f, final: final, sum: sha256.New()}, nil
}

// Write writes to the file and to its checksum.
func (p *partial) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.n += int64(n)
	p.sum.Write(b[:n])
	return n, err
}

// Commit syncs the file, renames it to its final name and syncs the folder.
func (p *partial) Commit() error {
	if err := p.f.Sync(); err != nil {
		p.Abort()
		return fmt.Errorf("sync backup file: %w", err)
	}
	if err := p.f.Close(); err != nil {
		p.Abort()
		return fmt.Errorf("close backup file: %w", err)
	}
	if err := os.Rename(p.f.Name(), p.final); err != nil {
		p.Abort()
		return fmt.Errorf("rename backup file: %w", err)
	}
	p.done = true
	return syncDir(filepath.Dir(p.final))
}

// Abort removes the temporary file; after Commit it does nothing.
func (p *partial) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.f.Close()
	os.Remove(p.f.Name())
}

// SHA256 is the hex checksum of what was written.
func (p *partial) SHA256() string { return hex.EncodeToString(p.sum.Sum(nil)) }

// writeFileAtomic writes b to path through a synced temporary file.
func writeFileAtomic(path string, b []byte) error {
	p, err := createPartial(path)
	if err != nil {
		return err
	}
	if _, err := p.Write(b); err != nil {
		p.Abort()
		return err
	}
	return p.Commit()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync backup folder: %w", err)
	}
	return nil
}

// fileSHA256 returns the hex sha256 and size of the file at path, reporting
// progress as it reads.
func fileSHA256(ctx context.Context, path string, pr *progress) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, pr.reader(&pacedReader{ctx: ctx, r: f}))
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
