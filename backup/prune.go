package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Retention says which backups Prune keeps: every one younger than
// KeepDays days, the newest Keep whatever their age, and always the newest
// verified one.
type Retention struct {
	KeepDays int // KURA_BACKUP_KEEP_DAYS; 0 means DefaultKeepDays
	Keep     int // KURA_BACKUP_KEEP; 0 means DefaultKeep
}

// WithDefaults returns r with every zero field set to its default.
func (r Retention) WithDefaults() Retention {
	if r.KeepDays <= 0 {
		r.KeepDays = DefaultKeepDays
	}
	if r.Keep <= 0 {
		r.Keep = DefaultKeep
	}
	return r
}

// Plan returns the backups of all (newest first, as List returns them)
// that r deletes at now.
func (r Retention) Plan(all []*Manifest, now time.Time) []*Manifest {
	r = r.WithDefaults()
	cutoff := now.Add(-time.Duration(r.KeepDays) * 24 * time.Hour)
	verifiedKept := false
	var out []*Manifest
	for i, m := range all {
		verified := m.Verified != nil && m.Verified.OK
		keep := i < r.Keep || !m.Started.Before(cutoff) || (verified && !verifiedKept)
		if verified && keep {
			verifiedKept = true
		}
		if !keep {
			out = append(out, m)
		}
	}
	return out
}

// Prune deletes the backups in dir that r does not keep, manifest first so
// that a backup half-deleted is never listed, then sweeps what killed
// backups left (Sweep). It returns the backups it deleted.
// It deletes nothing when it cannot read every manifest.
func Prune(dir string, r Retention, now time.Time) ([]*Manifest, error) {
	all, err := List(dir)
	if err != nil {
		return nil, fmt.Errorf("prune: %w (nothing deleted)", err)
	}
	plan := r.Plan(all, now)
	var deleted []*Manifest
	for _, m := range plan {
		if err := os.Remove(manifestPath(dir, m.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return deleted, fmt.Errorf("prune %s: %w", m.Name, err)
		}
		if err := os.Remove(m.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return deleted, fmt.Errorf("prune %s: %w", m.Name, err)
		}
		deleted = append(deleted, m)
	}
	_, err = Sweep(dir, now)
	return deleted, err
}
