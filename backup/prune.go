package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
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

// SkippedError is returned by Prune and PrunePlan, beside what they
// deleted or would delete, when some backups' manifests cannot be read:
// those backups are left whole, data file and manifest, and the retention
// is applied to the others. Deleting them is the operator's decision.
type SkippedError struct {
	Dir     string
	Backups []*UnreadableError
}

func (e *SkippedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "prune: %d backup(s) in %s left alone, their manifests cannot be read: ", len(e.Backups), e.Dir)
	for i, u := range e.Backups {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(u.Error())
	}
	b.WriteString(". Prune never deletes a backup it cannot read: fix the manifest's owner or mode, or move the backup's files" +
		" (NAME.json and its data file) out of the folder, or delete them")
	return b.String()
}

// PrunePlan returns the backups in dir that r deletes at now. Backups
// whose manifest cannot be read are left out of the plan and reported in
// a *SkippedError; any other error (the folder cannot be read) comes with
// no plan.
func PrunePlan(dir string, r Retention, now time.Time) ([]*Manifest, error) {
	all, err := List(dir)
	skipped := Unreadable(err)
	if err != nil && len(skipped) == 0 {
		return nil, fmt.Errorf("prune: %w (nothing deleted)", err)
	}
	plan := r.Plan(all, now)
	if len(skipped) > 0 {
		return plan, &SkippedError{Dir: dir, Backups: skipped}
	}
	return plan, nil
}

// Prune deletes the backups in dir that r does not keep, manifest first so
// that a backup half-deleted is never listed, then sweeps what killed
// backups left (Sweep). It returns the backups it deleted.
// A backup whose manifest cannot be read is neither deleted nor counted:
// the others are pruned as if it were not there, and the error is a
// *SkippedError naming it.
func Prune(dir string, r Retention, now time.Time) ([]*Manifest, error) {
	plan, perr := PrunePlan(dir, r, now)
	var skipped *SkippedError
	if perr != nil && !errors.As(perr, &skipped) {
		return nil, perr
	}
	var deleted []*Manifest
	for _, m := range plan {
		if err := os.Remove(manifestPath(dir, m.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return deleted, errors.Join(fmt.Errorf("prune %s: %w", m.Name, err), perr)
		}
		if err := os.Remove(m.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return deleted, errors.Join(fmt.Errorf("prune %s: %w", m.Name, err), perr)
		}
		deleted = append(deleted, m)
	}
	if _, err := Sweep(dir, now); err != nil {
		return deleted, errors.Join(perr, err)
	}
	return deleted, perr // nil, or exactly the *SkippedError
}
