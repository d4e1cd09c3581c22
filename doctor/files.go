package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// GitStatus is where a file stands with git.
type GitStatus int

// Where a file stands with git.
const (
	GitNoRepo    GitStatus = iota // no .git in its folder or above
	GitIgnored                    // in a work tree, ignored
	GitUntracked                  // in a work tree, neither tracked nor ignored
	GitTracked                    // committed or added
)

// GitStatusOf returns where path stands with git, asking git when a .git
// is in path's folder or above.
func GitStatusOf(path string) (GitStatus, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return GitNoRepo, err
	}
	dir := filepath.Dir(abs)
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			break
		}
		if filepath.Dir(d) == d {
			return GitNoRepo, nil
		}
	}
	base := filepath.Base(abs)
	if exec.Command("git", "-C", dir, "ls-files", "--error-unmatch", "--", base).Run() == nil {
		return GitTracked, nil
	}
	err = exec.Command("git", "-C", dir, "check-ignore", "-q", "--", base).Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return GitIgnored, nil
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return GitUntracked, nil
	}
	return GitNoRepo, fmt.Errorf("git: %w", err)
}

// checkEnvFile: the .env file, if any, is readable by its owner only and
// not in git.
func checkEnvFile(_ context.Context, e *Env) Result {
	if e.DotEnv == nil {
		return ok("no .env file: the configuration comes from the environment")
	}
	fi, err := os.Stat(e.EnvFile)
	if err != nil {
		return fail("", "%s: %v", e.EnvFile, err)
	}
	st, gerr := e.tracked(e.EnvFile)
	switch {
	case fi.Mode().Perm()&0o077 != 0:
		r := fail(modeFix(e.EnvFile, fi.Mode().Perm()&^0o077), "%s is mode %04o: %s may read it", e.EnvFile, fi.Mode().Perm(), whoMay(fi.Mode().Perm()&0o077))
		r.Repair = chmodRepair(e.EnvFile, fi.Mode().Perm()&^0o077)
		return r
	case gerr != nil:
		return warn("make sure git does not track "+e.EnvFile, "%s is 0600; whether git tracks it is unknown: %v", e.EnvFile, gerr)
	case st == GitTracked:
		return fail("git rm --cached "+e.EnvFile+", add it to .gitignore, and change the secrets it held", "%s is tracked by git", e.EnvFile)
	case st == GitUntracked:
		return warn("add "+e.EnvFile+" to .gitignore", "%s is 0600 but not ignored by git: one git add -A commits it", e.EnvFile)
	}
	return ok("%s is 0600 and not in git", e.EnvFile)
}

// checkSQLiteFile: the SQLite file (and its -wal and -shm) are 0600, its
// folder closed to others and to its group's writes.
func checkSQLiteFile(_ context.Context, e *Env) Result {
	if e.dialect() != sqldb.SQLite {
		return ok("not SQLite")
	}
	path, err := sqldb.SQLitePath(e.DatabaseURL)
	if err != nil {
		return fail("correct DATABASE_URL", "%v", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	dir := filepath.Dir(path)
	di, derr := os.Stat(dir)
	if derr == nil && di.Mode().Perm()&0o027 != 0 {
		return folderTooOpen(dir, di.Mode().Perm())
	}
	fi, err := os.Stat(path)
	if err != nil {
		made := "creates it 0600"
		if derr != nil {
			made = "creates it 0600, and its folder 0750"
		}
		return warn(fmt.Sprintf("kura migrate up, or the first kura serve, %s; if kura already serves, it uses another file: give doctor the service's DATABASE_URL and working folder", made),
			"no database file at %s yet", path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			r := fail(modeFix(p, fi.Mode().Perm()&^0o077), "%s is mode %04o: %s may read the password hashes", p, fi.Mode().Perm(), whoMay(fi.Mode().Perm()&0o077))
			r.Repair = chmodRepair(p, fi.Mode().Perm()&^0o077)
			return r
		}
	}
	if derr != nil {
		return fail("", "%s: %v", dir, derr)
	}
	return ok("%s is mode %04o, its folder %04o", path, fi.Mode().Perm(), di.Mode().Perm())
}

// folderTooOpen is the finding of a SQLite file's folder that others may
// read or enter, or that its group or others may write.
func folderTooOpen(dir string, perm fs.FileMode) Result {
	var what []string
	if w := perm & 0o022; w != 0 {
		what = append(what, whoMay(w)+" may create, replace or delete the database's files in it")
	}
	if perm&0o004 != 0 {
		what = append(what, "others may list its files")
	}
	if perm&0o001 != 0 {
		what = append(what, "others may open the files in it that their own mode lets them")
	}
	want := perm &^ 0o027
	r := fail(modeFix(dir, want), "the folder %s is mode %04o: %s", dir, perm, strings.Join(what, ", and "))
	r.Repair = chmodRepair(dir, want)
	return r
}

// whoMay names the classes of users the permission bits perm (of group
// and others only) give a right to.
func whoMay(perm fs.FileMode) string {
	switch {
	case perm&0o070 != 0 && perm&0o007 != 0:
		return "its group and others"
	case perm&0o070 != 0:
		return "its group"
	}
	return "others"
}

// modeFix is the fix that gives path mode: chmod where there is a chmod
// program, and kura doctor --fix, which sets it from wherever kura runs
// (kura's image has no shell and no chmod).
func modeFix(path string, mode fs.FileMode) string {
	if _, err := exec.LookPath("chmod"); err == nil {
		return fmt.Sprintf("chmod %o %s, or kura doctor --fix", mode, path)
	}
	return fmt.Sprintf("kura doctor --fix, which sets %s to mode %04o from here (no chmod program is installed where kura runs)", path, mode)
}

// chmodRepair is the repair of kura doctor --fix that gives path mode.
func chmodRepair(path string, mode fs.FileMode) func() (string, error) {
	return func() (string, error) {
		if err := os.Chmod(path, mode); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is now mode %04o", path, mode), nil
	}
}
