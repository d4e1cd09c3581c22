package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Verify proves that the backup m restores: it checks the data file's
// size and sha256 against the manifest, restores it into a scratch
// database (a temporary SQLite file, or a temporary database on the server
// at cfg.ScratchURL) and compares every table's row count and checksum
// with the manifest, then drops the scratch copy. The outcome is recorded
// in the manifest and returned; a backup that fails has Check.OK false and
// says why in Check.Problem. The error is for a verify that could not run
// (no server, no right to create a database), which records nothing.
func Verify(ctx context.Context, m *Manifest, cfg Config) (*Check, error) {
	cfg, eng, err := prepare(cfg, m)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	if _, err := os.Stat(cfg.Dir); err == nil {
		sweepLogged(cfg)
	}
	start := cfg.Now()
	pr := newProgress(cfg.Progress)
	var problem string
	err = lowPriority(func() (err error) {
		problem, err = verify(ctx, eng, m, cfg, pr)
		return err
	})
	if err != nil {
		cfg.Logger.Error("backup verify could not run", "backup", m.Name, "err", err)
		return nil, fmt.Errorf("verify %s: %w", m.Name, err)
	}
	c := &Check{At: cfg.Now().UTC(), OK: problem == "", Problem: problem, Duration: cfg.Now().Sub(start).Seconds()}
	m.Verified = c
	if err := m.write(); err != nil {
		return c, fmt.Errorf("verify %s: record the outcome: %w", m.Name, err)
	}
	if c.OK {
		cfg.Logger.Info("backup verified", "backup", m.Name, "tables", len(m.Tables), "rows", m.Rows(),
			"duration", time.Duration(c.Duration*float64(time.Second)).Round(time.Millisecond))
	} else {
		cfg.Logger.Error("backup failed its verify", "backup", m.Name, "problem", problem)
	}
	return c, nil
}

// errBadFile marks a data file that does not match its manifest.
var errBadFile = errors.New("the data file does not match the manifest")

// checkFile compares the data file's size and sha256 with the manifest.
func checkFile(ctx context.Context, m *Manifest, pr *progress) error {
	pr.start("sha256", "bytes", m.Size)
	sum, n, err := fileSHA256(ctx, m.Path(), pr)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", errBadFile, err)
	case n != m.Size:
		return fmt.Errorf("%w: it has %d bytes, the manifest says %d", errBadFile, n, m.Size)
	case sum != m.SHA256:
		return fmt.Errorf("%w: its sha256 differs", errBadFile)
	}
	return nil
}

// verify returns what is wrong with the backup, "" if nothing, or an error
// when it cannot tell.
func verify(ctx context.Context, eng engine, m *Manifest, cfg Config, pr *progress) (string, error) {
	if err := checkFile(ctx, m, pr); err != nil {
		return err.Error(), nil
	}
	got, err := restoreAndRead(ctx, eng, m, cfg, pr)
	var re *restoreError
	if errors.As(err, &re) {
		return re.Error(), nil
	}
	if err != nil {
		return "", err
	}
	return compareSums(m.Tables, got.tables), nil
}
